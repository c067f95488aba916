#!/usr/bin/env bash
# bench/proxy: the service proxy's control plane (ProxySyncer full and partial syncs against `nft -f` of the same
# text) and data plane (ClusterIP latency with 10 vs 10,000 services, throughput vs the pod IP), in network
# namespaces named wbp-*, which are removed afterwards, also on failure or Ctrl-C. Release build; root.
# Arguments go to harness.py (e.g. --only control, --rounds 5, --json out.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ "$(id -u)" = 0 ] || { echo "bench/proxy needs root" >&2; exit 1; }
for tool in ip nft python3; do command -v "$tool" >/dev/null || { echo "bench/proxy needs $tool" >&2; exit 1; }; done
command -v iperf3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
ldconfig -p | grep -q libnftables.so.1 || { echo "bench/proxy needs libnftables.so.1 (package libnftables1)" >&2; exit 1; }
(cd "$here" && swift build -c release --product proxy-bench)
# The harness removes its namespaces (and what runs and is programmed in them) on exit, failure, SIGINT and SIGTERM,
# and those an earlier, killed run left behind when it starts; `harness.py cleanup` does only that.
exec python3 "$here/harness.py" bench --bench "$here/.build/release/proxy-bench" "$@"

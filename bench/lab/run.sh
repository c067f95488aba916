#!/usr/bin/env bash
# bench/lab: pod startup latency in a 3-node lab, and cross-node TCP throughput between two pods (iperf3) for
# host-gw and vxlan against two namespaces joined by a plain veth, in the same run. Release build; root.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "bench/lab needs root" >&2; exit 1; }
command -v iperf3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
weft=.build/release/weft
if [ ! -x "$weft" ] || [ ! -x .build/release/weft-cni ]; then
    swift build -c release --product weft
    swift build -c release --product weft-cni
fi
exec python3 bench/lab/harness.py --weft "$weft" "$@"

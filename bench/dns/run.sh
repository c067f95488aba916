#!/usr/bin/env bash
# Cluster DNS: `weft dns` against a Debian DNS server (NSD by default) serving the same names as static zones,
# measured with dnsperf in the same run, rounds interleaved.
#
#   bench/dns/run.sh [--weft PATH] [--peer nsd|unbound] [--services N] [--rounds R] [--seconds S]
#                    [--rate QPS] [--only cluster|forward] [--perf PREFIX] [--json FILE] [--keep]
#
# --weft PATH     the weft binary (default .build/release/weft; built with
#                 `swift build -c release --product weft` when missing)
# --peer          nsd (default: NSD 4, authoritative, one server process) or unbound (local-data, one thread)
# --services N    ClusterIP Services (+ one EndpointSlice each) created in `weft apiserver` (default 1000)
# --forwarded N   names in the zone weft forwards to the peer (default 1000)
# --rounds R      interleaved rounds (default 5); --seconds S per full-speed dnsperf run (default 10)
# --rate QPS      fixed rate of the latency runs, dnsperf -Q with -v (default 10000; 0 = skip them)
# --outstanding Q dnsperf -q (default 100); --clients C dnsperf -c (default 4)
# --server-cpu N / --client-cpu N   CPUs for the servers (default 1) and for dnsperf + the API server (default 0)
# --perf PREFIX   after the rounds, `perf record -g` weft dns (cluster, forward) and the peer (cluster), one
#                 more run each: PREFIX-weft-cluster.data, PREFIX-weft-forward.data, PREFIX-peer-cluster.data
# --json FILE     every figure to FILE; --keep keeps the temp dir (zones, configs, logs)
#
# Needs root (only to install packages: dnsperf, nsd / unbound, and linux-perf for --perf), taskset, python3.
# All traffic stays on 127.0.0.1. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
weft="$repo/.build/release/weft"
weft_given=
peer=nsd
perf=
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --weft) weft=$2; weft_given=1; shift 2 ;;
        --weft=*) weft=${1#*=}; weft_given=1; shift ;;
        --peer) peer=$2; shift 2 ;;
        --perf) perf=$2; args+=("$1" "$2"); shift 2 ;;
        --services|--forwarded|--rounds|--seconds|--rate|--latency-seconds|--outstanding|--clients|--server-cpu|--client-cpu|--only|--json)
            args+=("$1" "$2"); shift 2 ;;
        --keep) args+=("$1"); shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done

need_pkgs=()
command -v dnsperf >/dev/null || need_pkgs+=(dnsperf)
case "$peer" in
    nsd) command -v nsd >/dev/null || need_pkgs+=(nsd) ;;
    unbound) command -v unbound >/dev/null || need_pkgs+=(unbound) ;;
    *) echo "error: --peer must be nsd or unbound" >&2; exit 2 ;;
esac
[ -z "$perf" ] || command -v perf >/dev/null || need_pkgs+=(linux-perf)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "error: missing ${need_pkgs[*]}; install them or run as root" >&2; exit 2; }
    echo "# installing ${need_pkgs[*]}" >&2
    # The packages' services must not start (they would bind port 53): policy-rc.d refuses, as in containers.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2; }
fi
for tool in taskset python3 dnsperf; do
    command -v "$tool" >/dev/null || { echo "error: missing $tool" >&2; exit 2; }
done
[ "$(nproc --all)" -ge 2 ] || { echo "error: needs 2 CPUs (server and dnsperf each pinned to one)" >&2; exit 2; }

if [ ! -x "$weft" ]; then
    if [ -n "$weft_given" ]; then
        echo "error: $weft is not an executable" >&2
        exit 2
    fi
    echo "# $weft missing: building it (swift build -c release --product weft)" >&2
    (cd "$repo" && swift build -c release --product weft) >&2
    [ -x "$weft" ] || { echo "error: build did not produce $weft" >&2; exit 1; }
fi
exec python3 "$here/harness.py" --weft "$weft" --peer "$peer" "${args[@]}"

#!/usr/bin/env bash
# CNI ADD+DEL latency: weft-cni against the reference bridge + host-local plugins, interleaved in one run.
#
#   bench/cni/run.sh [--weft PATH] [-n N] [-w WARMUP] [--no-ipmasq] [--json FILE] [--keep]
#   bench/cni/run.sh --peer-only [-n N] ...     # reference against itself: validates the harness
#
# --weft PATH   the weft-cni binary (default .build/release/weft-cni; built with
#               `swift build -c release --product weft-cni` when missing)
# -n N          measured iterations per plugin (default 300; at least 200 for a p99 worth reading)
# -w WARMUP     warm-up iterations per plugin, not counted (default 10)
# --json FILE   also write every figure, both configs and any failures to FILE
# --keep        keep the temp dir (configs, IPAM data dirs, CNI_PATH)
# --no-ipmasq   ipMasq false in both configs (isolates veth/bridge/IPAM work from masquerade rule churn)
#
# Needs root, iproute2, iptables/ip6tables (the reference bridge plugin's ipMasq) and the reference plugins
# (containernetworking-plugins, in /usr/lib/cni; override with REFERENCE_DIR). See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
weft="$repo/.build/release/weft-cni"
weft_given=
peer_only=
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --weft) weft=$2; weft_given=1; shift 2 ;;
        --weft=*) weft=${1#*=}; weft_given=1; shift ;;
        --peer-only) peer_only=1; shift ;;
        -n|--iterations|-w|--warmup|--json) args+=("$1" "$2"); shift 2 ;;
        --keep|--no-ipmasq) args+=("$1"); shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done

[ "$(id -u)" = 0 ] || { echo "error: needs root" >&2; exit 2; }
for tool in ip iptables ip6tables python3; do
    command -v "$tool" >/dev/null || { echo "error: missing $tool (run scripts/install-deps.sh)" >&2; exit 2; }
done

if [ -n "$peer_only" ]; then
    exec python3 "$here/harness.py" --peer-only --reference-dir "${REFERENCE_DIR:-/usr/lib/cni}" "${args[@]}"
fi

if [ ! -x "$weft" ]; then
    if [ -n "$weft_given" ]; then
        echo "error: $weft is not an executable" >&2
        exit 2
    fi
    echo "# $weft missing: building it (swift build -c release --product weft-cni)" >&2
    (cd "$repo" && swift build -c release --product weft-cni) >&2
    [ -x "$weft" ] || { echo "error: build did not produce $weft" >&2; exit 1; }
fi
exec python3 "$here/harness.py" --weft "$weft" --reference-dir "${REFERENCE_DIR:-/usr/lib/cni}" "${args[@]}"

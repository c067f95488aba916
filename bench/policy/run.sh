#!/usr/bin/env bash
# bench/policy: the network-policy enforcer's control plane — PolicySyncer (compile + one transaction through
# libnftables) for 1,000 NetworkPolicies over 1,000 local pods, against `nft -f` loading the same text, and small
# changes — in a network namespace named wbpol-ctl-PID, removed afterwards, also on failure, Ctrl-C or SIGTERM (a
# run also removes the namespaces of earlier runs whose process is gone). Release build; root.
# Arguments go to `policy-bench control` (e.g. --policies 1000 --pods 1000 --rounds 3 --changes 20 --json out.json).
# `run.sh lab [...]`: the lab part instead (bench/policy/lab.py: kubectl apply → enforced, connection latency with
# 1,000 policies vs none) on the release `weft`, built when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ "$(id -u)" = 0 ] || { echo "bench/policy needs root" >&2; exit 1; }
if [ "${1:-}" = lab ]; then
    shift
    cd "$here/../.."
    for tool in kubectl python3; do command -v "$tool" >/dev/null || { echo "bench/policy lab needs $tool" >&2; exit 1; }; done
    [ -x .build/release/weft ] || swift build -c release --product weft
    [ -x .build/release/weft-cni ] || swift build -c release --product weft-cni
    exec python3 "$here/lab.py" --weft .build/release/weft "$@"
fi
[ "${1:-}" = control ] && shift
for tool in ip nft; do command -v "$tool" >/dev/null || { echo "bench/policy needs $tool" >&2; exit 1; }; done
ldconfig -p | grep -q libnftables.so.1 || { echo "bench/policy needs libnftables.so.1 (package libnftables1)" >&2; exit 1; }
(cd "$here" && swift build -c release --product policy-bench)

# Namespaces of runs that were killed before their cleanup.
for ns in $(ip netns list | awk '{print $1}' | grep '^wbpol-' || true); do
    kill -0 "${ns##*-}" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
done

ns="wbpol-ctl-$$"
work="$(mktemp -d /tmp/wbpol.XXXXXX)"
cleanup() {
    ip netns del "$ns" 2>/dev/null || true   # its nft tables go with it
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
echo "bench/policy in namespace $ns ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
ip netns exec "$ns" "$here/.build/release/policy-bench" control --dir "$work" "$@"

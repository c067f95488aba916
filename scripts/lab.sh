#!/usr/bin/env bash
# The README's first command: install what Weft needs, build it, bring up a 3-node lab with the quickstart
# example (examples/quickstart), and show pods talking across nodes. Run as root. Replaces a lab named `weft`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
swift build
weft=.build/debug/weft
"$weft" lab down >/dev/null 2>&1 || true
"$weft" lab up -f examples/quickstart
export KUBECONFIG="$("$weft" lab kubeconfig)"

echo
"$weft" lab status
if ! command -v kubectl >/dev/null; then
    echo "(install kubectl to look around: kubectl get pods -A -o wide)"
    exit 0
fi
kubectl get pods -A -o wide
echo
echo "frontend/client -> every backend/api pod, over each address family (HTTP /hostname):"
for ip in $(kubectl get pods -n backend -l app=api -o jsonpath='{range .items[*]}{range .status.podIPs[*]}{.ip}{" "}{end}{end}'); do
    case "$ip" in *:*) target="[$ip]:8080" ;; *) target="$ip:8080" ;; esac
    printf '  %-26s ' "$target"
    "$weft" lab exec -n frontend client -- weft probe --protocol http "$target"
done

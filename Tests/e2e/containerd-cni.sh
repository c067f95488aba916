#!/usr/bin/env bash
# End-to-end test of a CNI plugin under a real container runtime (containerd 1.6 `ctr run --cni`, runc).
#
#   Tests/e2e/containerd-cni.sh CONFLIST_FILE [PLUGIN_BINARY | NAME=PATH ...]
#
# CONFLIST_FILE  the network configuration to test (a .conflist, or a single-plugin .conf).
# PLUGIN_BINARY  extra plugin binaries to put on the CNI path under their own name; NAME=PATH puts PATH there
#                as NAME (e.g. `weft-ipam=.build/debug/weft-cni`). The reference plugins of /opt/cni/bin and
#                /usr/lib/cni are always there. A `weft-cni` binary also gets a `weft-ipam` link. If the config
#                uses type weft-cni and no binary is given, .build/debug/weft-cni is used.
#
# What it does, all of it private to this run:
#   * re-executes itself in a private mount namespace and bind-mounts temp dirs over /etc/cni/net.d,
#     /opt/cni/bin and /var/lib/cni, which is where `ctr run --cni` (go-cni defaults, not configurable)
#     reads configs, finds plugins and caches results. The host's directories are never written to (they
#     are created empty if missing, so they can serve as mount points, and removed again afterwards);
#   * starts its own containerd (--root/--state/--address in a temp dir, CRI plugin disabled) and a
#     uniquely named ctr namespace; imports a busybox image built by scripts/make-busybox-oci.sh;
#   * runs containers A and B with `ctr run --cni -d` (the runtime does CNI ADD), B serving HTTP with busybox
#     httpd; runs CNI CHECK (libcni semantics, prevResult from the runtime's result cache);
#   * checks A -> B and B -> A by IPv4 (and IPv6 when both have a global address): ping, and an HTTP GET with
#     busybox wget from A to B's httpd;
#   * runs CNI DEL as libcni does (the plugins in reverse order, prevResult from the cache) while the
#     containers are alive -- `ctr` 1.6 never calls DEL for detached containers -- then checks that each
#     container's eth0 and its host-side veth are gone, that the IPAM store and the nftables/iptables
#     ruleset no longer mention the container, and that a second DEL also succeeds;
#   * kills and removes the tasks, containers and image, and checks no task, container or snapshot is left.
# A trap undoes everything (tasks, containers, containerd and its shims, mounts, temp dirs, the bridge if
# this run created it, leftover masquerade rules naming our containers, forwarding sysctls) also on failure.
#
# cniVersion: containerd 1.6's ctr vendors libcni 1.1, which cannot parse results newer than 1.0.0 (ADD fails with
# "unsupported CNI result version"). A config with a newer cniVersion is refused with that explanation, unless
# E2E_CNI_VERSION=1.0.0 is set: then the runtime's copy of the config says 1.0.0.
#
# Exit 0 on success; non-zero with a "FAIL: ..." line on failure. Set E2E_KEEP=1 to keep the temp dir,
# E2E_VERBOSE=1 for a trace. Needs root, containerd, ctr, runc, unshare, ip, python3, busybox-static.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"

# fd 3/4: the script's own stdout/stderr, also when a trap fires inside a command whose output is redirected
exec 3>&1 4>&2
log() { printf '[e2e %5ss] %s\n' "$(elapsed)" "$*" >&3; }
fail() { printf '[e2e] FAIL: %s\n' "$*" >&4; exit 1; }
elapsed() { local ms=$((($(date +%s%N) - ${E2E_T0:-$(date +%s%N)}) / 1000000)); echo "$((ms / 1000)).$((ms % 1000 / 100))"; }

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi
[ "$(id -u)" = 0 ] || fail "must run as root"
for tool in containerd ctr runc unshare ip python3 findmnt; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool (run scripts/install-deps.sh)"
done
[ "${E2E_VERBOSE:-0}" = 1 ] && set -x

# ----------------------------------------------------------------------------------------------------
# Stage 1 (host mount namespace): make sure the mount points exist, then re-exec in a private namespace.
# ----------------------------------------------------------------------------------------------------
MOUNT_TARGETS=(/etc/cni/net.d /opt/cni/bin /var/lib/cni)
if [ -z "${WEFT_E2E_INNER:-}" ]; then
    export E2E_T0=$(date +%s%N)
    conflist=$(realpath -e "$1") || fail "no such config file: $1"
    shift
    created_dirs=()
    for t in "${MOUNT_TARGETS[@]}"; do
        # remember every path component we create, outermost first, to remove it again afterwards
        p=$t; missing=()
        while [ ! -e "$p" ]; do missing=("$p" "${missing[@]}"); p=$(dirname "$p"); done
        for m in "${missing[@]}"; do mkdir "$m"; created_dirs=("$m" "${created_dirs[@]}"); done
    done
    # unshare without --fork execs the script itself: the child is the inner stage; pass signals on to it
    WEFT_E2E_INNER=1 unshare --mount --propagation private -- "$self" "$conflist" "$@" &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null' INT TERM
    rc=0
    wait "$child" || rc=$?
    while kill -0 "$child" 2>/dev/null; do rc=0; wait "$child" || rc=$?; done
    # innermost first; rmdir only removes them if still empty (never if someone else put files there)
    for d in "${created_dirs[@]}"; do rmdir "$d" 2>/dev/null || echo "[e2e] note: left $d (not empty)" >&2; done
    exit "$rc"
fi

# ----------------------------------------------------------------------------------------------------
# Stage 2 (private mount namespace)
# ----------------------------------------------------------------------------------------------------
conflist=$1; shift
rand=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
ns="weft-e2e-$rand"                 # ctr namespace; go-cni's container ID is "$ns-$id"
image=docker.io/library/weft-busybox:e2e-$rand
ids=(a b)
containerd_pid=
bridge_created=
conf_copy=$conflist   # the config as the runtime sees it (set to the private copy below)
declare -A deleted=()
ctr_() { ctr --address "$sock" --namespace "$ns" "$@"; }

read -r net_name bridge_name plugin_types < <(python3 - "$conflist" <<'PY'
import json, sys
try:
    c = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"invalid JSON in {sys.argv[1]}: {e}", file=sys.stderr); sys.exit(1)
plugins = c.get("plugins", [c] if "type" in c else None)
if not plugins or not c.get("name"):
    print("config needs a name and a type or plugins list", file=sys.stderr); sys.exit(1)
types = set()
for p in plugins:
    types.add(p["type"])
    if isinstance(p.get("ipam"), dict) and p["ipam"].get("type"):
        types.add(p["ipam"]["type"])
bridge = next((p["bridge"] for p in plugins if p.get("bridge")), "-")
print(c["name"], bridge, ",".join(sorted(types)))
PY
) || fail "cannot parse $conflist"

work=$(mktemp -d "/tmp/weft-e2e-$rand.XXXX")   # removed by cleanup (trap set below; nothing between can fail)
sock="$work/containerd.sock"
saved_ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)
saved_ip6_forward=$(cat /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null || echo "")
if [ "$bridge_name" != "-" ] && ! ip link show "$bridge_name" >/dev/null 2>&1; then bridge_created=1; fi

# Removes iptables/ip6tables rules and chains, and nftables rules, whose comment names one of our containers.
purge_rules_naming_our_containers() {
    python3 - "$ns" <<'PY'
import re, shlex, subprocess, sys
marker = sys.argv[1]
for tool in ("iptables", "ip6tables"):
    try:
        dump = subprocess.run([tool + "-save", "-t", "nat"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        continue
    chains = set()
    for line in dump.splitlines():
        if line.startswith("-A ") and marker in line:
            args = shlex.split(line)
            if "-j" in args and args[args.index("-j") + 1].startswith("CNI-"):
                chains.add(args[args.index("-j") + 1])
            subprocess.run([tool, "-t", "nat", "-D"] + args[1:], capture_output=True)
    for ch in chains:
        subprocess.run([tool, "-t", "nat", "-F", ch], capture_output=True)
        subprocess.run([tool, "-t", "nat", "-X", ch], capture_output=True)
try:
    ruleset = subprocess.run(["nft", "-a", "list", "ruleset"], capture_output=True, text=True).stdout
except FileNotFoundError:
    sys.exit(0)
table = chain = None
for line in ruleset.splitlines():
    s = line.strip()
    if m := re.match(r"table (\S+) (\S+) \{", s):
        table = m.groups()
    elif m := re.match(r"chain (\S+) \{", s):
        chain = m.group(1)
    elif marker in s and (m := re.search(r"# handle (\d+)$", s)) and table and chain:
        subprocess.run(["nft", "delete", "rule", table[0], table[1], chain, "handle", m.group(1)],
                       capture_output=True)
PY
}

# libcni's ADD-cache-aware CHECK / DEL for one container: the plugins in order (CHECK) or reverse order (DEL),
# each given name, cniVersion and the cached prevResult; DEL then removes the cache entry, as libcni does.
cni_list() { # VERB ID [NETNS]
    local verb=$1 id=$2 netns=${3:-/proc/${pid[$2]}/ns/net}
    timeout "${CNI_TIMEOUT:-30}" python3 - "$verb" "$conf_copy" "$work/var-lib-cni/results/$net_name-$ns-$id-eth0" "$ns-$id" \
        "$netns" "/opt/cni/bin" <<'PY'
import json, os, subprocess, sys
verb, conf_path, cache_path, cid, netns, cni_path = sys.argv[1:]
conf = json.load(open(conf_path))
plugins = conf.get("plugins", [conf] if "type" in conf else [])
version = conf.get("cniVersion", "0.2.0")
cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
prev = cache.get("result")
args = ";".join(f"{k}={v}" for k, v in cache.get("cniArgs") or [])
vt = tuple(int(x) for x in version.split("."))
if verb == "CHECK" and vt < (0, 4, 0):
    print(f"CHECK: skipped (cniVersion {version})"); sys.exit(0)
order = plugins if verb == "CHECK" else list(reversed(plugins))
for p in order:
    one = dict(p)
    one["name"], one["cniVersion"] = conf["name"], version
    if prev is not None and vt >= (0, 4, 0):
        one["prevResult"] = prev
    env = dict(os.environ, CNI_COMMAND=verb, CNI_CONTAINERID=cid, CNI_NETNS=netns, CNI_IFNAME="eth0",
               CNI_PATH=cni_path, CNI_ARGS=args)
    r = subprocess.run([os.path.join(cni_path, p["type"])], input=json.dumps(one).encode(), env=env,
                       capture_output=True, timeout=30)
    if r.returncode != 0:
        print(f"{verb} {p['type']} exited {r.returncode}: {r.stdout.decode()}{r.stderr.decode()}", file=sys.stderr)
        sys.exit(1)
if verb == "DEL" and os.path.exists(cache_path):
    os.remove(cache_path)
PY
}

cleanup() {
    local rc=$?
    set +e +x
    trap - EXIT
    trap '' INT TERM
    if [ $rc -ge 128 ]; then log "interrupted: cleaning up"; elif [ $rc -ne 0 ]; then log "cleaning up after failure"; fi
    if [ -n "$containerd_pid" ] && kill -0 "$containerd_pid" 2>/dev/null; then
        # containers whose network is still set up (a failed run): DEL, so IPAM and rules are released
        ctr_ tasks ls 2>/dev/null | awk 'NR > 1 && $2 > 0 { print $1, $2 }' | while read -r id tpid; do
            [ -n "${deleted[$id]:-}" ] || CNI_TIMEOUT=10 cni_list DEL "$id" "/proc/$tpid/ns/net" >/dev/null 2>&1 \
                || echo "[e2e] note: clean-up DEL for $id failed" >&4
        done
        for id in $(ctr_ tasks ls -q 2>/dev/null); do
            ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1
        done
        for id in $(ctr_ tasks ls -q 2>/dev/null); do
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                ctr_ tasks rm -f "$id" >/dev/null 2>&1 && break
                sleep 0.2
            done
        done
        for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$id" >/dev/null 2>&1; done
        ctr_ images rm "$image" >/dev/null 2>&1
        ctr --address "$sock" namespaces rm "$ns" >/dev/null 2>&1
        kill -TERM "$containerd_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$containerd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$containerd_pid" 2>/dev/null
    fi
    # shims started for our containerd (their command line names our socket); pids, not names
    shims() {
        local p
        for p in $(grep -l -a -F -- "$sock" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
            case "$(cat "/proc/$p/comm" 2>/dev/null)" in containerd-shim*) echo "$p" ;; esac
        done
    }
    for _ in $(seq 30); do [ -z "$(shims)" ] && break; sleep 0.1; done
    for pid in $(shims); do kill -KILL "$pid" 2>/dev/null; done
    # plugin processes still running for our containers (a hung ADD whose ctr we timed out): by pid
    for pid in $(grep -l -a -F -- "CNI_CONTAINERID=$ns-" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
        [ "$pid" = "$$" ] || kill -KILL "$pid" 2>/dev/null
    done
    purge_rules_naming_our_containers
    if [ -n "$bridge_created" ] && ip link show "$bridge_name" >/dev/null 2>&1; then
        ip link del "$bridge_name"
    fi
    echo "$saved_ip_forward" > /proc/sys/net/ipv4/ip_forward
    [ -n "$saved_ip6_forward" ] && echo "$saved_ip6_forward" > /proc/sys/net/ipv6/conf/all/forwarding
    # unmount everything below the work dir (container rootfs, shm) and our bind mounts, innermost first
    for m in $(findmnt -rn -o TARGET | grep -F -- "$work/" | sort -r) "${MOUNT_TARGETS[@]}"; do
        mountpoint -q "$m" && umount -l "$m"
    done
    if [ "${E2E_KEEP:-0}" = 1 ]; then
        echo "[e2e] kept $work" >&3
    else
        rm -rf --one-file-system "$work"
    fi
    if [ $rc -eq 0 ]; then log "PASS"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- private CNI directories ---------------------------------------------------------------------------
mkdir -p "$work/cni-bin" "$work/net.d" "$work/var-lib-cni" "$work/fifo"
for f in /opt/cni/bin/* /usr/lib/cni/*; do
    [ -x "$f" ] || continue
    [ -e "$work/cni-bin/$(basename "$f")" ] || ln -s "$(realpath "$f")" "$work/cni-bin/$(basename "$f")"
done
add_plugin() { # NAME PATH
    local path
    path=$(realpath -e "$2") || fail "no such plugin binary: $2"
    [ -x "$path" ] || fail "not executable: $path"
    ln -sfn "$path" "$work/cni-bin/$1"
}
for arg in "$@"; do
    if [[ $arg == *=* ]]; then add_plugin "${arg%%=*}" "${arg#*=}"; else add_plugin "$(basename "$arg")" "$arg"; fi
done
if [[ ,$plugin_types, == *,weft-cni,* || ,$plugin_types, == *,weft-ipam,* ]] && [ ! -e "$work/cni-bin/weft-cni" ]; then
    add_plugin weft-cni "$repo/.build/debug/weft-cni"
fi
[ -e "$work/cni-bin/weft-cni" ] && [ ! -e "$work/cni-bin/weft-ipam" ] && add_plugin weft-ipam "$work/cni-bin/weft-cni"
for t in ${plugin_types//,/ }; do
    [ -x "$work/cni-bin/$t" ] || fail "plugin '$t' used by $conflist is not on the CNI path (pass it as an argument)"
done
cni_version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("cniVersion", "0.2.0"))' "$conflist")
if [ -n "${E2E_CNI_VERSION:-}" ]; then
    log "cniVersion $cni_version rewritten to $E2E_CNI_VERSION (E2E_CNI_VERSION)"
    cni_version=$E2E_CNI_VERSION
elif python3 -c 'import sys; sys.exit(0 if tuple(map(int, sys.argv[1].split("."))) > (1, 0, 0) else 1)' "$cni_version"; then
    fail "cniVersion $cni_version: ctr/containerd $(ctr --version | awk '{print $3}') (libcni 1.1) only reads results up to 1.0.0 and fails ADD with 'unsupported CNI result version'; run with E2E_CNI_VERSION=1.0.0 to test the plugin at 1.0.0"
fi
ext=conflist; python3 -c 'import json,sys; sys.exit(0 if "plugins" in json.load(open(sys.argv[1])) else 1)' "$conflist" || ext=conf
conf_copy="$work/net.d/10-weft-e2e.$ext"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["cniVersion"]=sys.argv[2]; json.dump(c, open(sys.argv[3], "w"), indent=2)' \
    "$conflist" "$cni_version" "$conf_copy"
mount --bind "$work/net.d" /etc/cni/net.d
mount --bind "$work/cni-bin" /opt/cni/bin
mount --bind "$work/var-lib-cni" /var/lib/cni
log "network '$net_name' (plugins: $plugin_types), work dir $work"

# --- containerd ---------------------------------------------------------------------------------------------
cat > "$work/config.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/opt"
EOF
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 3>&- 4>&- &
containerd_pid=$!
for _ in $(seq 100); do
    ctr --address "$sock" version >/dev/null 2>&1 && break
    kill -0 "$containerd_pid" 2>/dev/null || { tail -20 "$work/containerd.log" >&2; fail "containerd exited"; }
    sleep 0.1
done
ctr --address "$sock" version >/dev/null 2>&1 || { tail -20 "$work/containerd.log" >&2; fail "containerd did not start"; }
log "containerd $containerd_pid up"

"$repo/scripts/make-busybox-oci.sh" "$work/busybox.tar" "$image" >/dev/null
ctr_ images import "$work/busybox.tar" >/dev/null || fail "ctr image import failed"
ctr_ images ls -q | grep -qxF "$image" || fail "image $image missing after import"
log "image $image imported"

# --- containers -------------------------------------------------------------------------------------------------
for id in "${ids[@]}"; do
    if [ "$id" = a ]; then cmd=(sleep 3600); else cmd=(httpd -f -p 8080 -h /www); fi
    rc=0
    timeout 30 ctr --address "$sock" --namespace "$ns" run --cni -d --null-io --fifo-dir "$work/fifo" \
        "$image" "$id" "${cmd[@]}" || rc=$?
    [ $rc -ne 124 ] || fail "ctr run --cni (container $id) did not finish in 30 s: the plugin's ADD hangs?"
    [ $rc -eq 0 ] || fail "ctr run --cni (container $id) failed (rc $rc): the plugin's ADD failed? (see above)"
done
x() { # ID CMD... : exec in a container, fail after 20 s
    local id=$1; shift
    timeout 20 ctr --address "$sock" --namespace "$ns" tasks exec --fifo-dir "$work/fifo" \
        --exec-id "x$RANDOM$RANDOM" "$id" "$@"
}
declare -A ip4 ip6 pid hostidx hostveth
for id in "${ids[@]}"; do
    pid[$id]=$(ctr_ tasks ls | awk -v id="$id" '$1 == id { print $2 }')
    [ -n "${pid[$id]}" ] || fail "no task for container $id"
    ip4[$id]=$(x "$id" ip -4 -o addr show dev eth0 scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
    ip6[$id]=$(x "$id" ip -6 -o addr show dev eth0 scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
    [ -n "${ip4[$id]}${ip6[$id]}" ] || fail "container $id has no global address on eth0"
    hostidx[$id]=$(x "$id" cat /sys/class/net/eth0/iflink | tr -d '\r')
    hostveth[$id]=$(ip -o link show | awk -F': ' -v i="${hostidx[$id]}" '$1 == i { sub(/@.*/, "", $2); print $2 }')
    [ -n "${hostveth[$id]}" ] || fail "no host-side veth (ifindex ${hostidx[$id]}) for container $id"
    if [ "$bridge_name" != "-" ]; then
        master=$(ip -o link show "${hostveth[$id]}" | grep -o 'master [^ ]*' | cut -d' ' -f2)
        [ "$master" = "$bridge_name" ] || fail "host veth ${hostveth[$id]} is attached to '$master', not $bridge_name"
    fi
    [ -f "$work/var-lib-cni/results/$net_name-$ns-$id-eth0" ] \
        || fail "runtime has no cached ADD result for $id (libcni cache $work/var-lib-cni/results)"
    log "container $id: pid ${pid[$id]} eth0 ${ip4[$id]:--} ${ip6[$id]:--}, host veth ${hostveth[$id]}"
done


# --- connectivity --------------------------------------------------------------------------------------
if [ "${E2E_SKIP_CHECK:-0}" != 1 ]; then
    for id in "${ids[@]}"; do cni_list CHECK "$id" || fail "CNI CHECK failed for container $id"; done
    log "CNI CHECK ok for a and b"
fi
checked=0
for fam in 4 6; do
    if [ $fam = 4 ]; then a=${ip4[a]}; b=${ip4[b]}; url="http://${ip4[b]}:8080/index.html"
    else a=${ip6[a]}; b=${ip6[b]}; url="http://[${ip6[b]}]:8080/index.html"; fi
    [ -n "$a" ] && [ -n "$b" ] || continue
    x a ping -$fam -c 3 -i 0.2 -W 2 "$b" >"$work/ping.out" 2>&1 \
        || { cat "$work/ping.out" >&2; fail "IPv$fam ping a ($a) -> b ($b) failed"; }
    x b ping -$fam -c 2 -i 0.2 -W 2 "$a" >"$work/ping.out" 2>&1 \
        || { cat "$work/ping.out" >&2; fail "IPv$fam ping b ($b) -> a ($a) failed"; }
    body=$(x a wget -q -O - "$url" 2>"$work/wget.err") \
        || fail "IPv$fam HTTP GET $url from a failed: $(cat "$work/wget.err")"
    [ "$body" = "weft-busybox" ] || fail "IPv$fam HTTP GET $url from a returned '$body'"
    log "IPv$fam: a -> b ping ok, b -> a ping ok, a -> b TCP (HTTP GET $url) ok"
    checked=$((checked + 1))
done
[ $checked -gt 0 ] || fail "a and b have no address family in common"

# --- CNI DEL and what it must have removed ----------------------------------------------------------------
leftovers() { # ID: prints what still names the container after DEL
    local id=$1
    ip -o link show | awk -F': ' -v i="${hostidx[$id]}" '$1 == i { print "host link index " i ": " $2 }'
    ip link show "${hostveth[$id]}" >/dev/null 2>&1 && echo "host veth ${hostveth[$id]}"
    x "$id" ip link show eth0 >/dev/null 2>&1 && echo "eth0 inside container $id"
    grep -rlF -- "$ns-$id" "$work/var-lib-cni/networks" $(ipam_dirs) 2>/dev/null | sed 's/^/IPAM file /'
    nft list ruleset 2>/dev/null | grep -F -- "$ns-$id" | sed 's/^[[:space:]]*/nft rule: /'
    for t in iptables-save ip6tables-save; do
        command -v $t >/dev/null && $t 2>/dev/null | grep -F -- "$ns-$id" | sed "s/^/$t: /"
    done
    true
}
ipam_dirs() {
    python3 - "$conflist" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for p in c.get("plugins", [c]):
    d = (p.get("ipam") or {}).get("dataDir")
    if d:
        print(d)
PY
}
for id in "${ids[@]}"; do
    cni_list DEL "$id" || fail "CNI DEL failed for container $id"
    deleted[$id]=1
    left=$(leftovers "$id")
    [ -z "$left" ] || fail "after DEL of $id these remain: $left"
    cni_list DEL "$id" || fail "second CNI DEL for container $id failed (DEL must be idempotent)"
done
log "CNI DEL ok: eth0, host veths ${hostveth[a]} ${hostveth[b]}, IPAM entries and rules gone; repeated DEL ok"

# --- remove tasks, containers, image -----------------------------------------------------------------------
for id in "${ids[@]}"; do
    ctr_ tasks kill -s SIGKILL "$id" >/dev/null
done
for id in "${ids[@]}"; do
    for _ in $(seq 50); do
        ctr_ tasks rm "$id" >/dev/null 2>&1 && break
        sleep 0.1
    done
    ctr_ containers rm "$id" || fail "ctr containers rm $id failed"
done
[ -z "$(ctr_ tasks ls -q)" ] || fail "tasks left: $(ctr_ tasks ls -q)"
[ -z "$(ctr_ containers ls -q)" ] || fail "containers left: $(ctr_ containers ls -q)"
ctr_ images rm --sync "$image" >/dev/null || fail "ctr images rm failed"
for id in "${ids[@]}"; do
    ip -o link show | awk -F': ' -v i="${hostidx[$id]}" '$1 == i { found = 1 } END { exit !found }' \
        && fail "host link ${hostidx[$id]} of $id still present after removal"
    for _ in $(seq 20); do [ -e "/proc/${pid[$id]}" ] || break; sleep 0.1; done
    [ ! -e "/proc/${pid[$id]}" ] || fail "process ${pid[$id]} of $id still running"
done
snaps=$(ctr_ snapshots ls | tail -n +2)
[ -z "$snaps" ] || fail "snapshots left: $snaps"
log "tasks, containers, snapshots and image removed; no veth left"

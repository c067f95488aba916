#!/usr/bin/env python3
"""ADD+DEL latency of two CNI plugin configurations, measured interleaved in one run.

Normally started by bench/cni/run.sh. Python 3 standard library only; needs root, `ip` (iproute2) and, for the
reference bridge plugin's ipMasq, iptables/ip6tables.

For every iteration and each plugin (A, B, A, B, ...): create a fresh network namespace (not timed), then time
the exec of ADD and, separately, of DEL (fork/exec through os.posix_spawn, config on stdin, result read from
stdout, wait for exit), check exit status and the ADD result, and delete the namespace (not timed). A third,
interleaved series times the exec of /bin/true through the same code path: the harness overhead.

DEL gets the ADD result as prevResult, as libcni does for cniVersion >= 0.4.0 (built outside the timed region).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field


# --------------------------------------------------------------------------------------------------------------
# Exec of one plugin invocation
# --------------------------------------------------------------------------------------------------------------

@dataclass
class Exec:
    status: int          # exit status (or -signal)
    ns: int              # wall time, nanoseconds: posix_spawn .. stdout read and child reaped
    stdout: bytes
    stderr: bytes


_inflight: list[int] = []  # pid of the plugin being run, so an interrupted run can let it finish before cleaning


def reap_inflight(timeout: float = 10.0) -> None:
    """Waits for an interrupted plugin exec to finish (so it cannot create state after cleanup), then kills it."""
    for pid in list(_inflight):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        _inflight.remove(pid)


def run_exec(path: str, env: dict[str, str], stdin: bytes, stderr_path: str) -> Exec:
    """Spawns `path` with `env`, feeds `stdin`, reads stdout to EOF and reaps the child; times all of that."""
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    actions = [
        (os.POSIX_SPAWN_DUP2, r_in, 0),
        (os.POSIX_SPAWN_DUP2, w_out, 1),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    chunks = []
    t0 = time.perf_counter_ns()
    try:
        pid = os.posix_spawn(path, [path], env, file_actions=actions)
        _inflight.append(pid)
    finally:
        os.close(r_in)
        os.close(w_out)
    try:
        os.write(w_in, stdin)  # configs are far smaller than a pipe buffer: never blocks
    except BrokenPipeError:
        pass
    finally:
        os.close(w_in)
    while True:
        b = os.read(r_out, 65536)
        if not b:
            break
        chunks.append(b)
    _, wstatus = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    _inflight.remove(pid)
    os.close(r_out)
    with open(stderr_path, "rb") as f:
        err = f.read()
    return Exec(os.waitstatus_to_exitcode(wstatus), t1 - t0, b"".join(chunks), err)


# --------------------------------------------------------------------------------------------------------------
# Plugins under test
# --------------------------------------------------------------------------------------------------------------

@dataclass
class Plugin:
    label: str
    conf: dict
    binary: str                      # path in the private CNI_PATH
    bridge: str
    subnets: list = field(default_factory=list)
    add_ns: list = field(default_factory=list)
    del_ns: list = field(default_factory=list)
    both_ns: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.conf.get("cniVersion", "0.2.0")


def make_conf(kind: str, name: str, bridge: str, v4: str, v6: str, data_dir: str) -> dict:
    if kind == "weft":
        # stateDir: weft-cni's attachment records (default /var/lib/cni/weft), kept in the temp dir too
        return {"cniVersion": "1.1.0", "name": name, "type": "weft-cni", "bridge": bridge, "isGateway": True,
                "ipMasq": True, "stateDir": data_dir + "-state",
                "ipam": {"type": "weft-ipam", "ranges": [[{"subnet": v4}], [{"subnet": v6}]], "dataDir": data_dir}}
    return {"cniVersion": "1.0.0", "name": name, "type": "bridge", "bridge": bridge, "isGateway": True,
            "ipMasq": True, "ipam": {"type": "host-local", "ranges": [[{"subnet": v4}], [{"subnet": v6}]],
                                     "dataDir": data_dir}}


def check_add_result(p: Plugin, ex: Exec, netns: str, ifname: str) -> str | None:
    """Returns what is wrong with an ADD result, or None."""
    if ex.status != 0:
        return f"ADD exited {ex.status}: {ex.stdout.decode(errors='replace')}{ex.stderr.decode(errors='replace')}"
    try:
        res = json.loads(ex.stdout)
    except ValueError as e:
        return f"ADD result is not JSON ({e}): {ex.stdout[:200]!r}"
    if res.get("cniVersion") != p.version:
        return f"ADD result cniVersion {res.get('cniVersion')!r}, config has {p.version!r}"
    ifaces = res.get("interfaces") or []
    if not any(i.get("name") == ifname and i.get("sandbox") == netns for i in ifaces):
        return f"ADD result has no interface {ifname} in sandbox {netns}: {ifaces}"
    addrs = []
    for ip in res.get("ips") or []:
        try:
            addrs.append(ipaddress.ip_interface(ip["address"]))
        except (KeyError, ValueError):
            return f"ADD result has a malformed ip entry: {ip}"
    for subnet in p.subnets:
        if not any(a.ip in subnet for a in addrs):
            return f"ADD result has no address in {subnet}: {[str(a) for a in addrs]}"
    return None


# --------------------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------------------

def pct(sorted_ms: list[float], q: float) -> float:
    """Percentile with linear interpolation between closest ranks (numpy's default)."""
    if not sorted_ms:
        return float("nan")
    k = (len(sorted_ms) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (k - lo)


def summary(samples_ns: list[int]) -> dict:
    ms = sorted(x / 1e6 for x in samples_ns)
    return {"n": len(ms), "p50": pct(ms, 0.50), "p90": pct(ms, 0.90), "p99": pct(ms, 0.99),
            "mean": sum(ms) / len(ms) if ms else float("nan")}


# --------------------------------------------------------------------------------------------------------------
# Host state we create and must remove
# --------------------------------------------------------------------------------------------------------------

class Host:
    def __init__(self, marker: str):
        self.marker = marker
        self.netns: set[str] = set()
        self.bridges: list[str] = []
        self.sysctls = {}
        for key in ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"):
            try:
                with open("/proc/sys/" + key) as f:
                    self.sysctls[key] = f.read().strip()
            except OSError:
                pass

    @staticmethod
    def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(["ip", *args], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
        return r

    def add_netns(self, name: str) -> str:
        self.netns.add(name)  # first: an interrupt during `ip netns add` must still clean it up
        self.ip("netns", "add", name)
        return f"/run/netns/{name}"

    def del_netns(self, name: str) -> None:
        self.ip("netns", "del", name)
        self.netns.discard(name)

    def leftover_rules(self) -> list[str]:
        """Firewall rules whose text names one of our containers (iptables comments, nft comments)."""
        found = []
        for tool in ("iptables-save", "ip6tables-save"):
            if shutil.which(tool):
                out = subprocess.run([tool], capture_output=True, text=True).stdout
                found += [f"{tool}: {l}" for l in out.splitlines() if self.marker in l]
        if shutil.which("nft"):
            out = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
            found += [f"nft: {l.strip()}" for l in out.splitlines() if self.marker in l]
        return found

    def purge_rules(self) -> None:
        for tool in ("iptables", "ip6tables"):
            if not shutil.which(tool + "-save"):
                continue
            dump = subprocess.run([tool + "-save", "-t", "nat"], capture_output=True, text=True).stdout
            chains = set()
            for line in dump.splitlines():
                if line.startswith("-A ") and self.marker in line:
                    args = shlex.split(line)
                    if "-j" in args and args[args.index("-j") + 1].startswith("CNI-"):
                        chains.add(args[args.index("-j") + 1])
                    subprocess.run([tool, "-t", "nat", "-D", *args[1:]], capture_output=True)
            for ch in chains:
                subprocess.run([tool, "-t", "nat", "-F", ch], capture_output=True)
                subprocess.run([tool, "-t", "nat", "-X", ch], capture_output=True)
        if shutil.which("nft"):
            out = subprocess.run(["nft", "-a", "list", "ruleset"], capture_output=True, text=True).stdout
            table = chain = None
            for line in out.splitlines():
                s = line.strip()
                if m := re.match(r"table (\S+) (\S+) \{", s):
                    table = m.groups()
                elif m := re.match(r"chain (\S+) \{", s):
                    chain = m.group(1)
                elif self.marker in s and table and chain and (m := re.search(r"# handle (\d+)$", s)):
                    subprocess.run(["nft", "delete", "rule", *table, chain, "handle", m.group(1)],
                                   capture_output=True)

    def cleanup(self) -> None:
        for name in sorted(self.netns):
            self.ip("netns", "del", name, check=False)
        self.netns.clear()
        for br in self.bridges:
            self.ip("link", "del", br, check=False)
        self.purge_rules()
        for key, value in self.sysctls.items():
            try:
                with open("/proc/sys/" + key, "w") as f:
                    f.write(value)
            except OSError:
                pass


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weft", help="path of the weft-cni binary (omit with --peer-only)")
    ap.add_argument("--peer-only", action="store_true",
                    help="benchmark the reference plugins against themselves (validates the harness)")
    ap.add_argument("--reference-dir", default="/usr/lib/cni", help="where bridge and host-local live")
    ap.add_argument("-n", "--iterations", type=int, default=300)
    ap.add_argument("-w", "--warmup", type=int, default=10)
    ap.add_argument("--no-ipmasq", action="store_true",
                    help="ipMasq false in both configs (isolates the netlink/IPAM path from masquerade rules)")
    ap.add_argument("--json", help="also write all figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, IPAM data, stderr)")
    a = ap.parse_args()
    if a.iterations < 1 or a.warmup < 0:
        ap.error("iterations must be >= 1 and warmup >= 0")
    if not a.peer_only and not a.weft:
        ap.error("give --weft PATH or --peer-only")
    if os.geteuid() != 0:
        print("error: needs root (network namespaces, bridges)", file=sys.stderr)
        return 2

    rand = secrets.token_hex(2)
    marker = f"wft-bench-{rand}"   # in every container ID: finds our rules again when cleaning up
    tmp = tempfile.mkdtemp(prefix=f"weft-bench-{rand}.")
    host = Host(marker)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    try:
        return bench(a, rand, marker, tmp, host)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        reap_inflight()
        host.cleanup()
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def bench(a, rand: str, marker: str, tmp: str, host: Host) -> int:
    cni_path = os.path.join(tmp, "bin")
    os.makedirs(cni_path)
    for name in ("bridge", "host-local", "loopback", "portmap"):
        src = os.path.join(a.reference_dir, name)
        if not os.access(src, os.X_OK):
            print(f"error: reference plugin {src} missing (apt-get install containernetworking-plugins)",
                  file=sys.stderr)
            return 2
        os.symlink(os.path.realpath(src), os.path.join(cni_path, name))
    if not (shutil.which("iptables") and shutil.which("ip6tables")):
        print("error: the reference bridge plugin needs iptables and ip6tables for ipMasq", file=sys.stderr)
        return 2

    def plugin(label: str, kind: str, tag: str, octet: int) -> Plugin:
        bridge = f"wfb{tag}{rand}"
        data = os.path.join(tmp, f"ipam-{tag}")
        v4, v6 = f"10.{octet}.0.0/16", f"fd{octet}::/64"
        conf = make_conf(kind, f"bench-{label}", bridge, v4, v6, data)
        conf["ipMasq"] = not a.no_ipmasq
        binary = os.path.join(cni_path, conf["type"])
        return Plugin(label, conf, binary, bridge, [ipaddress.ip_network(v4), ipaddress.ip_network(v6)])

    ref = plugin("reference", "ref", "r", 97)
    if a.peer_only:
        other = plugin("reference-b", "ref", "q", 98)
    else:
        weft = os.path.realpath(a.weft)
        if not os.access(weft, os.X_OK):
            print(f"error: {a.weft} is not an executable", file=sys.stderr)
            return 2
        os.symlink(weft, os.path.join(cni_path, "weft-cni"))
        os.symlink("weft-cni", os.path.join(cni_path, "weft-ipam"))
        other = plugin("weft", "weft", "w", 98)
    plugins = [ref, other]
    for p in plugins:
        if host.ip("link", "show", p.bridge, check=False).returncode == 0:
            print(f"error: bridge {p.bridge} already exists", file=sys.stderr)
            return 2
        host.bridges.append(p.bridge)
        with open(os.path.join(tmp, f"{p.label}.json"), "w") as f:
            json.dump(p.conf, f, indent=2)

    base_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_PATH": cni_path, "CNI_IFNAME": "eth0"}
    stderr_path = os.path.join(tmp, "stderr")
    true_bin = shutil.which("true") or "/bin/true"
    overhead: list[int] = []

    print(f"# CNI ADD/DEL latency, {a.iterations} iterations (+{a.warmup} warm-up) per plugin, interleaved; "
          f"dual-stack, isGateway, ipMasq {'off' if a.no_ipmasq else 'on'}")
    print(f"# host: {platform.node()} kernel {platform.release()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    for p in plugins:
        v = run_exec(p.binary, {**base_env, "CNI_COMMAND": "VERSION"}, json.dumps(p.conf).encode(), stderr_path)
        print(f"# {p.label}: {os.path.realpath(p.binary)} ({p.conf['type']}, cniVersion {p.version}), "
              f"bridge {p.bridge}, VERSION -> {v.stdout.decode(errors='replace').strip() or v.status}")
    print(f"# temp dir {tmp}", flush=True)

    total = a.warmup + a.iterations
    started = time.monotonic()
    for i in range(total):
        warm = i < a.warmup
        for p in plugins:
            cid = f"{marker}-{p.label}-{i}"
            nsname = f"{marker}-{i}"
            netns = host.add_netns(nsname)
            env = {**base_env, "CNI_CONTAINERID": cid, "CNI_NETNS": netns}
            conf = json.dumps(p.conf).encode()
            add = run_exec(p.binary, {**env, "CNI_COMMAND": "ADD"}, conf, stderr_path)
            problem = check_add_result(p, add, netns, "eth0")
            del_conf = dict(p.conf)
            if add.status == 0:
                try:
                    del_conf["prevResult"] = json.loads(add.stdout)
                except ValueError:
                    pass
            dele = run_exec(p.binary, {**env, "CNI_COMMAND": "DEL"}, json.dumps(del_conf).encode(), stderr_path)
            if problem is None and dele.status != 0:
                problem = (f"DEL exited {dele.status}: {dele.stdout.decode(errors='replace')}"
                           f"{dele.stderr.decode(errors='replace')}")
            host.del_netns(nsname)
            if problem:
                p.failures.append(f"iteration {i}: {problem}")
                if len(p.failures) <= 3:
                    print(f"! {p.label}: iteration {i}: {problem}", file=sys.stderr, flush=True)
                if len(p.failures) >= 10:
                    print(f"error: {p.label} failed 10 times; stopping", file=sys.stderr)
                    return 1
            elif not warm:
                p.add_ns.append(add.ns)
                p.del_ns.append(dele.ns)
                p.both_ns.append(add.ns + dele.ns)
        t = run_exec(true_bin, {**base_env, "CNI_COMMAND": "ADD"}, json.dumps(ref.conf).encode(), stderr_path)
        if not warm:
            overhead.append(t.ns)
        if (i + 1) % 50 == 0:
            print(f"# {i + 1}/{total} iterations, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    # weft-cni keeps a network's masquerade subnet while the network has pods; GC with no valid attachment
    # (what a runtime does for a network it no longer uses) removes it, so the run leaves nothing behind.
    leaks = []
    for p in plugins:
        if p.conf.get("type") == "weft-cni" and p.version == "1.1.0":
            gc_conf = {**p.conf, "cni.dev/valid-attachments": []}
            g = run_exec(p.binary, {**base_env, "CNI_COMMAND": "GC"}, json.dumps(gc_conf).encode(), stderr_path)
            if g.status != 0:
                leaks.append(f"{p.label}: GC failed: {g.stdout.decode(errors='replace')}")

    leaks += host.leftover_rules()
    for p in plugins:
        for data in filter(None, (p.conf["ipam"]["dataDir"], p.conf.get("stateDir"))):
            for root, _dirs, files in os.walk(data):
                for fn in files:
                    with open(os.path.join(root, fn), "rb") as f:
                        if marker.encode() in f.read():
                            leaks.append(f"{p.label}: {os.path.join(root, fn)} still names a container after DEL")

    # ---- report ---------------------------------------------------------------------------------------------
    rows = {}
    print()
    print(f"{'plugin':<14} {'op':<8} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for p in plugins:
        for op, samples in (("ADD", p.add_ns), ("DEL", p.del_ns), ("ADD+DEL", p.both_ns)):
            s = summary(samples)
            rows[(p.label, op)] = s
            print(f"{p.label:<14} {op:<8} {s['n']:>5} {s['p50']:>8.2f} {s['p90']:>8.2f} {s['p99']:>8.2f} "
                  f"{s['mean']:>8.2f}")
    so = summary(overhead)
    rows[("harness", "exec /bin/true")] = so
    print(f"{'harness':<14} {'true':<8} {so['n']:>5} {so['p50']:>8.2f} {so['p90']:>8.2f} {so['p99']:>8.2f} "
          f"{so['mean']:>8.2f}   (exec of /bin/true through the same code path; ADD+DEL pays it twice)")
    print()
    ratios = {}
    print(f"ratio {other.label}/{ref.label}:")
    for op in ("ADD", "DEL", "ADD+DEL"):
        x, r = rows[(other.label, op)], rows[(ref.label, op)]
        ratios[op] = {"p50": x["p50"] / r["p50"], "p99": x["p99"] / r["p99"]}
        print(f"  {op:<8} p50 {ratios[op]['p50']:.2f}x   p99 {ratios[op]['p99']:.2f}x")
    failed = [p for p in plugins if p.failures]
    for p in failed:
        print(f"{p.label}: {len(p.failures)} failed iterations (excluded), first: {p.failures[0]}", file=sys.stderr)
    for l in leaks[:20]:
        print(f"leak: {l}", file=sys.stderr)
    print(f"\n# wall time {time.monotonic() - started:.1f} s; leaks: {len(leaks)}; failures: "
          f"{sum(len(p.failures) for p in plugins)}")

    if a.json:
        with open(a.json, "w") as f:
            json.dump({
                "iterations": a.iterations, "warmup": a.warmup, "ipMasq": not a.no_ipmasq,
                "kernel": platform.release(),
                "cpus": os.cpu_count(),
                "plugins": {p.label: {"config": p.conf, "binary": os.path.realpath(p.binary),
                                      "failures": p.failures} for p in plugins},
                "figures_ms": {f"{k[0]} {k[1]}": v for k, v in rows.items()},
                "ratios": ratios, "leaks": leaks,
            }, f, indent=2)
    return 1 if failed or leaks else 0


if __name__ == "__main__":
    sys.exit(main())

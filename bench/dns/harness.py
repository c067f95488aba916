#!/usr/bin/env python3
"""bench/dns harness (Python standard library only): `weft dns` against a Debian DNS server, with dnsperf.

One run:
1. `weft apiserver` (pinned to CPU 0) in a temp dir; N ClusterIP Services without selector in namespace `bench`,
   each with one EndpointSlice (two ready endpoints, a named port), created over HTTPS from the admin kubeconfig.
2. The peer (NSD by default, or unbound) on CPU 1 serving, as static zones, the same A records:
   `svc-I.bench.svc.cluster.local` → each Service's ClusterIP, and a forwarded zone `fwd.bench.test`
   (`name-I.fwd.bench.test`, TTL 3600) that only the peer has.
3. `weft dns` on CPU 1, `--upstream` the peer, after its /ready; every cluster name is checked against the
   ClusterIP the API server allocated, on both servers, and every forwarded name once through weft (the warm-up
   that fills its cache), before anything is timed.
4. Rounds, the order alternating: dnsperf (CPU 0) at full speed (`-q` outstanding, `-l` seconds) against weft
   and against the peer, for cluster names (a) and forwarded names (b); then a fixed-rate run each (`-Q`) with
   `-v` for latency percentiles. The servers' CPU time (utime+stime of their process group) is read around
   each run: qps per CPU-second of the server is printed too (the machine is shared: a server that did not get
   its whole core shows up there).

Everything started is in its own process group and is killed, and the temp dir removed, on exit, failure,
Ctrl-C or SIGTERM (`--keep` keeps the dir).
"""
import argparse, base64, http.client, json, os, random, shutil, signal, socket, ssl, statistics, struct
import subprocess, sys, tempfile, threading, time

CLK = os.sysconf("SC_CLK_TCK")
children = []          # Popen objects, each the leader of its own process group
tempdir = None
keep = False


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cleanup():
    global children
    for p in reversed(children):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    for p in reversed(children):
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    children = []
    if tempdir and os.path.isdir(tempdir):
        if keep:
            log(f"# kept {tempdir}")
        else:
            shutil.rmtree(tempdir, ignore_errors=True)


def on_signal(signum, frame):
    log(f"# signal {signum}: cleaning up")
    cleanup()
    sys.exit(128 + signum)


def spawn(args, logname, cpu):
    out = open(os.path.join(tempdir, logname), "wb")
    p = subprocess.Popen(["taskset", "-c", str(cpu)] + args, stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    children.append(p)
    return p


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()


def group_pids(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[2]) == pgid:
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def group_cpu_seconds(pgid):
    """utime+stime of every process in process group `pgid` (threads included)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:          # fields[0] is state; pgrp is the 5th field overall
            total += int(fields[11]) + int(fields[12])
    return total / CLK


# --- a minimal DNS client for checking answers ----------------------------------------------------------------

def dns_query(port, name, qtype=1, timeout=2.0):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    q += struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        for attempt in range(3):
            s.sendto(q, ("127.0.0.1", port))
            try:
                r = s.recv(4096)
            except socket.timeout:
                continue
            if struct.unpack(">H", r[:2])[0] == qid:
                return parse_answer(r)
        raise RuntimeError(f"no answer for {name} from port {port}")
    finally:
        s.close()


def skip_name(r, i):
    while True:
        n = r[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


def parse_answer(r):
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", r[:12])
    i = 12
    for _ in range(qd):
        i = skip_name(r, i) + 4
    addrs = []
    for _ in range(an):
        i = skip_name(r, i)
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[i:i + 10])
        i += 10
        if rtype == 1:
            addrs.append(socket.inet_ntoa(r[i:i + 4]))
        i += rdlen
    return flags & 0xF, addrs


# --- the API server and its objects ----------------------------------------------------------------------------

class API:
    def __init__(self, kubeconfig):
        text = open(kubeconfig).read()
        field = lambda key: next(l.split(":", 1)[1].strip() for l in text.splitlines()
                                 if l.strip().startswith(key + ":"))
        server = field("server").removeprefix("https://")
        self.host, self.port = server.rsplit(":", 1)
        self.host = self.host.strip("[]")
        self.token = field("token")
        self.ctx = ssl.create_default_context(cadata=base64.b64decode(field("certificate-authority-data")).decode())
        self.ctx.check_hostname = False

    def connection(self):
        return http.client.HTTPSConnection(self.host, int(self.port), context=self.ctx, timeout=60)

    def request(self, method, path, body=None, conn=None):
        c = conn or self.connection()
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data) if data else None


def start_apiserver(weft):
    port = free_port()
    data = os.path.join(tempdir, "api")
    os.makedirs(data)
    p = spawn([weft, "apiserver", "--data-dir", data, "--listen", f"127.0.0.1:{port}"], "apiserver.log", 0)
    kubeconfig = os.path.join(data, "kubeconfig")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError("weft apiserver exited: " + open(os.path.join(tempdir, "apiserver.log")).read()[-2000:])
        if os.path.exists(kubeconfig):
            try:
                api = API(kubeconfig)
                api.request("GET", "/api/v1/namespaces/default")
                return api, kubeconfig
            except Exception:
                pass
        time.sleep(0.2)
    raise RuntimeError("weft apiserver did not come up in 60 s")


def create_services(api, count, workers=8):
    api.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "bench"}})
    ips = [None] * count
    errors = []

    def work(k):
        conn = api.connection()
        try:
            for i in range(k, count, workers):
                name = f"svc-{i}"
                svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "bench"},
                       "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                                                "targetPort": 8080}]}}
                created = api.request("POST", "/api/v1/namespaces/bench/services", svc, conn)
                ips[i] = created["spec"]["clusterIP"]
                eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                       "metadata": {"name": f"{name}-a", "namespace": "bench",
                                    "labels": {"kubernetes.io/service-name": name}},
                       "addressType": "IPv4",
                       "endpoints": [{"addresses": [f"10.244.{i // 250}.{(i % 250) + 2 + j}"],
                                      "conditions": {"ready": True}} for j in range(2)],
                       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
                api.request("POST", "/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices", eps, conn)
        except Exception as e:
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return ips


# --- the peer --------------------------------------------------------------------------------------------------

SOA = "ns.dns.{z}. hostmaster.{z}. 1 7200 1800 86400 30"


def zone_files(ips, forwarded):
    cluster = ["$ORIGIN cluster.local.", "$TTL 30", f"@ IN SOA {SOA.format(z='cluster.local')}",
               "@ IN NS ns.dns.cluster.local.", "ns.dns IN A 127.0.0.1"]
    cluster += [f"svc-{i}.bench.svc IN A {ip}" for i, ip in enumerate(ips)]
    fwd = ["$ORIGIN fwd.bench.test.", "$TTL 3600", f"@ IN SOA {SOA.format(z='fwd.bench.test')}",
           "@ IN NS ns.fwd.bench.test.", "ns IN A 127.0.0.1"]
    fwd += [f"name-{i} IN A 10.{100 + i // 65536}.{(i // 256) % 256}.{i % 256}" for i in range(forwarded)]
    return {"cluster.local": "\n".join(cluster) + "\n", "fwd.bench.test": "\n".join(fwd) + "\n"}


def start_nsd(zones, port, cpu):
    d = os.path.join(tempdir, "nsd")
    os.makedirs(d)
    for name, text in zones.items():
        open(os.path.join(d, name + ".zone"), "w").write(text)
    conf = f"""server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  server-count: 1
  database: ""
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  pidfile: "{d}/nsd.pid"
  username: ""
  chroot: ""
  logfile: "{d}/nsd.log"
  zonesdir: "{d}"
  minimal-responses: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  verbosity: 1
remote-control:
  control-enable: no
""" + "".join(f"zone:\n  name: {name}\n  zonefile: {name}.zone\n" for name in zones)
    open(os.path.join(d, "nsd.conf"), "w").write(conf)
    subprocess.run(["nsd-checkconf", os.path.join(d, "nsd.conf")], check=True)
    return spawn(["nsd", "-d", "-c", os.path.join(d, "nsd.conf")], "nsd.out", cpu)


def start_unbound(ips, forwarded, port, cpu):
    d = os.path.join(tempdir, "unbound")
    os.makedirs(d)
    lines = [f'local-data: "svc-{i}.bench.svc.cluster.local. 30 IN A {ip}"' for i, ip in enumerate(ips)]
    lines += [f'local-data: "name-{i}.fwd.bench.test. 3600 IN A 10.{100 + i // 65536}.{(i // 256) % 256}.{i % 256}"'
              for i in range(forwarded)]
    # "." static: everything else is answered NXDOMAIN locally, so unbound never queries anyone.
    conf = f"""server:
  interface: 127.0.0.1@{port}
  port: {port}
  num-threads: 1
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{d}"
  pidfile: "{d}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  local-zone: "." static
  local-zone: "cluster.local." static
  local-zone: "fwd.bench.test." static
""" + "".join(f"  {l}\n" for l in lines) + """remote-control:
  control-enable: no
"""
    open(os.path.join(d, "unbound.conf"), "w").write(conf)
    subprocess.run(["unbound-checkconf", os.path.join(d, "unbound.conf")], check=True, capture_output=True)
    return spawn(["unbound", "-d", "-c", os.path.join(d, "unbound.conf")], "unbound.out", cpu)


def wait_dns(port, name, proc, what):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited (see its log in the temp dir; rerun with --keep)")
        try:
            rcode, _ = dns_query(port, name, timeout=0.3)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer in 60 s")


# --- weft dns --------------------------------------------------------------------------------------------------

def start_weft_dns(weft, kubeconfig, port, http_port, upstream_port, cpu):
    p = spawn([weft, "dns", "--kubeconfig", kubeconfig, "--listen", f"127.0.0.1:{port}",
               "--upstream", f"127.0.0.1:{upstream_port}", "--http-address", f"127.0.0.1:{http_port}"],
              "weft-dns.log", cpu)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError("weft dns exited: " + open(os.path.join(tempdir, "weft-dns.log")).read()[-2000:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=2)
            c.request("GET", "/ready")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return p
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("weft dns not ready in 120 s")


def metrics_text(http_port):
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    return text


# --- dnsperf ---------------------------------------------------------------------------------------------------

def dnsperf(port, datafile, seconds, cpu, outstanding, clients, rate=None, verbose=False):
    args = ["taskset", "-c", str(cpu), "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", datafile,
            "-l", str(seconds), "-c", str(clients), "-q", str(outstanding), "-t", "2"]
    if rate:
        args += ["-Q", str(rate)]
    if verbose:
        args += ["-v"]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"dnsperf failed: {r.stderr[-1000:]}")
    out = {}
    latencies = []
    rcodes = {}
    for line in r.stdout.splitlines():
        s = line.strip()
        if s.startswith("> "):
            parts = s.split()
            rcodes[parts[1]] = rcodes.get(parts[1], 0) + 1
            latencies.append(float(parts[-1]))
        elif s.startswith("Queries per second:"):
            out["qps"] = float(s.split(":")[1])
        elif s.startswith("Queries sent:"):
            out["sent"] = int(s.split(":")[1])
        elif s.startswith("Queries lost:"):
            out["lost"] = int(s.split(":")[1].split()[0])
        elif s.startswith("Average Latency (s):"):
            out["avg_ms"] = float(s.split(":")[1].split()[0]) * 1000
        elif s.startswith("Response codes:"):
            out["rcodes"] = s.split(":", 1)[1].strip()
    if latencies:
        latencies.sort()
        pick = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000
        out.update(p50_ms=pick(50), p90_ms=pick(90), p99_ms=pick(99), p999_ms=pick(99.9), answered=len(latencies))
    if "qps" not in out:
        raise RuntimeError("could not parse dnsperf output:\n" + r.stdout[-2000:])
    return out


def measured(port, pgid, datafile, args, **kw):
    before = group_cpu_seconds(pgid)
    t0 = time.monotonic()
    res = dnsperf(port, datafile, cpu=args.client_cpu, outstanding=args.outstanding, clients=args.clients, **kw)
    wall = time.monotonic() - t0
    cpu = group_cpu_seconds(pgid) - before
    res["server_cpu"] = cpu / wall                      # cores busy on average
    res["qps_per_cpu_s"] = res["qps"] * wall / cpu if cpu > 0 else float("nan")
    return res


def fmt(x, d=0):
    return f"{x:,.{d}f}"


def main():
    global tempdir, keep
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weft", required=True)
    ap.add_argument("--peer", choices=["nsd", "unbound"], default="nsd")
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--forwarded", type=int, default=1000, help="names in the forwarded zone")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10, help="per full-speed dnsperf run")
    ap.add_argument("--rate", type=int, default=10000, help="queries/s of the fixed-rate latency runs (0: none)")
    ap.add_argument("--latency-seconds", type=int, default=5)
    ap.add_argument("--outstanding", type=int, default=100, help="dnsperf -q")
    ap.add_argument("--clients", type=int, default=4, help="dnsperf -c")
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--only", choices=["cluster", "forward"])
    ap.add_argument("--perf", metavar="PREFIX",
                    help="after the rounds, perf record -g weft (cluster, forward) and the peer (cluster) during one "
                         "more run each: PREFIX-weft-cluster.data, PREFIX-weft-forward.data, PREFIX-peer-cluster.data")
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    keep = args.keep

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    tempdir = tempfile.mkdtemp(prefix="weft-dns-bench-")
    try:
        run(args)
    finally:
        cleanup()


def run(args):
    log(f"# temp dir {tempdir}")
    api, kubeconfig = start_apiserver(args.weft)
    t0 = time.monotonic()
    ips = create_services(api, args.services)
    log(f"# {args.services} Services + EndpointSlices created in {time.monotonic() - t0:.1f} s")

    peer_port = free_port()
    zones = zone_files(ips, args.forwarded)
    if args.peer == "nsd":
        peer = start_nsd(zones, peer_port, args.server_cpu)
    else:
        peer = start_unbound(ips, args.forwarded, peer_port, args.server_cpu)
    wait_dns(peer_port, "svc-0.bench.svc.cluster.local", peer, args.peer)
    peer_version = subprocess.run([args.peer, "-v"] if args.peer == "nsd" else ["unbound", "-V"],
                                  capture_output=True, text=True)
    peer_version = (peer_version.stdout + peer_version.stderr).splitlines()[0].strip()
    if args.peer == "unbound":
        peer_version = "unbound " + peer_version.removeprefix("Version ")

    weft_port, http_port = free_port(), free_port()
    t0 = time.monotonic()
    weft = start_weft_dns(args.weft, kubeconfig, weft_port, http_port, peer_port, args.server_cpu)
    log(f"# weft dns ready in {time.monotonic() - t0:.1f} s; {args.peer} ({peer_version}) on port {peer_port}, "
        f"weft dns on {weft_port}")

    # Every cluster name, on both servers, must be the ClusterIP the API server allocated.
    for i, ip in enumerate(ips):
        name = f"svc-{i}.bench.svc.cluster.local"
        for what, port in (("weft", weft_port), (args.peer, peer_port)):
            rcode, addrs = dns_query(port, name)
            if rcode != 0 or addrs != [ip]:
                raise RuntimeError(f"{what}: {name} → rcode {rcode} {addrs}, expected {ip}")
    # Forwarded names: once through weft (fills its cache), compared with the peer's answer.
    for i in range(args.forwarded):
        name = f"name-{i}.fwd.bench.test"
        a, b = dns_query(weft_port, name), dns_query(peer_port, name)
        if a != b or a[0] != 0:
            raise RuntimeError(f"forwarded {name}: weft {a}, {args.peer} {b}")
    log("# every name checked on both servers; forwarded zone warmed in weft's cache")

    rng = random.Random(1)
    files = {}
    for kind, names in (("cluster", [f"svc-{i}.bench.svc.cluster.local" for i in range(args.services)]),
                        ("forward", [f"name-{i}.fwd.bench.test" for i in range(args.forwarded)])):
        rng.shuffle(names)
        path = os.path.join(tempdir, kind + ".queries")
        open(path, "w").write("".join(f"{n} A\n" for n in names))
        files[kind] = path
    kinds = [args.only] if args.only else ["cluster", "forward"]

    # Warm-up (not counted): a short full-speed run of each kind on each server.
    for kind in kinds:
        for port in (weft_port, peer_port):
            dnsperf(port, files[kind], 2, args.client_cpu, args.outstanding, args.clients)

    targets = {"weft": (weft_port, weft.pid), "peer": (peer_port, peer.pid)}
    results = {k: {"weft": [], "peer": []} for k in kinds}
    latency = {k: {"weft": [], "peer": []} for k in kinds}
    for r in range(args.rounds):
        order = ["weft", "peer"] if r % 2 == 0 else ["peer", "weft"]
        for kind in kinds:
            for who in order:
                port, pgid = targets[who]
                res = measured(port, pgid, files[kind], args, seconds=args.seconds)
                results[kind][who].append(res)
            w, p = results[kind]["weft"][-1], results[kind]["peer"][-1]
            log(f"round {r + 1} {kind:8} weft {fmt(w['qps']):>8} qps (cpu {w['server_cpu']:.2f}, lost {w['lost']}) "
                f"| {args.peer} {fmt(p['qps']):>8} qps (cpu {p['server_cpu']:.2f}, lost {p['lost']}) "
                f"| ratio {w['qps'] / p['qps']:.2f}")
            if args.rate:
                for who in order:
                    port, pgid = targets[who]
                    res = measured(port, pgid, files[kind], args, seconds=args.latency_seconds, rate=args.rate,
                                   verbose=True)
                    latency[kind][who].append(res)
                w, p = latency[kind]["weft"][-1], latency[kind]["peer"][-1]
                log(f"        {kind:8} at {args.rate}/s: weft p50 {w['p50_ms']:.3f} p99 {w['p99_ms']:.3f} ms "
                    f"| {args.peer} p50 {p['p50_ms']:.3f} p99 {p['p99_ms']:.3f} ms")

    if args.perf:
        for who, kind in (("weft", "cluster"), ("weft", "forward"), ("peer", "cluster")):
            if kind not in kinds:
                continue
            port, pid = targets[who]
            out = f"{args.perf}-{who}-{kind}.data"
            log(f"# perf record -g on {who} (process group {pid}) during a {args.seconds} s {kind} run → {out}")
            pids = ",".join(str(p) for p in group_pids(pid))
            rec = subprocess.Popen(["perf", "record", "-g", "-o", out, "-p", pids],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            children.append(rec)
            time.sleep(0.5)
            dnsperf(port, files[kind], args.seconds, args.client_cpu, args.outstanding, args.clients)
            os.killpg(rec.pid, signal.SIGINT)
            rec.wait()

    metrics = metrics_text(http_port)
    summary = {"date": time.strftime("%Y-%m-%d"), "peer": args.peer, "peer_version": peer_version,
               "services": args.services, "forwarded_names": args.forwarded, "rounds": args.rounds,
               "seconds": args.seconds, "rate": args.rate, "dnsperf": {"-q": args.outstanding, "-c": args.clients},
               "kinds": {}}
    print()
    print(f"weft dns vs {peer_version}, {args.services} services, {args.rounds} rounds × {args.seconds} s, "
          f"servers on CPU {args.server_cpu}, dnsperf on CPU {args.client_cpu} (-c {args.clients} -q {args.outstanding})")
    for kind in kinds:
        w, p = results[kind]["weft"], results[kind]["peer"]
        wq, pq = [x["qps"] for x in w], [x["qps"] for x in p]
        ratios = [a / b for a, b in zip(wq, pq)]
        wc = [x["qps_per_cpu_s"] for x in w]
        pc = [x["qps_per_cpu_s"] for x in p]
        entry = {"weft": w, "peer": p, "ratio_of_medians": statistics.median(wq) / statistics.median(pq),
                 "round_ratios": ratios, "latency": latency[kind]}
        label = "cluster names (a)" if kind == "cluster" else "forwarded, warm cache (b)"
        print(f"\n{label}")
        print(f"  weft dns   qps median {fmt(statistics.median(wq))} (min {fmt(min(wq))}, max {fmt(max(wq))}); "
              f"per CPU-second {fmt(statistics.median(wc))}; server cpu {statistics.median([x['server_cpu'] for x in w]):.2f}; "
              f"avg latency {statistics.median([x['avg_ms'] for x in w]):.3f} ms; lost {sum(x['lost'] for x in w)}")
        print(f"  {args.peer:10} qps median {fmt(statistics.median(pq))} (min {fmt(min(pq))}, max {fmt(max(pq))}); "
              f"per CPU-second {fmt(statistics.median(pc))}; server cpu {statistics.median([x['server_cpu'] for x in p]):.2f}; "
              f"avg latency {statistics.median([x['avg_ms'] for x in p]):.3f} ms; lost {sum(x['lost'] for x in p)}")
        print(f"  ratio weft/{args.peer}: {entry['ratio_of_medians']:.2f} (of medians); per round "
              + " ".join(f"{r:.2f}" for r in ratios)
              + f"; per CPU-second {statistics.median(wc) / statistics.median(pc):.2f}")
        if latency[kind]["weft"]:
            for who, rows in (("weft dns", latency[kind]["weft"]), (args.peer, latency[kind]["peer"])):
                med = lambda key: statistics.median([x[key] for x in rows])
                print(f"  at {fmt(args.rate)} q/s: {who:10} p50 {med('p50_ms'):.3f} ms, p90 {med('p90_ms'):.3f} ms, "
                      f"p99 {med('p99_ms'):.3f} ms, p99.9 {med('p999_ms'):.3f} ms (medians over rounds); "
                      f"lost {sum(x['lost'] for x in rows)}")
        summary["kinds"][kind] = entry
    print("\nCoreDNS (published, coredns/deployment Scaling_CoreDNS.md): ~33,700 qps for cluster names on 2 vCPUs")
    wanted = [l for l in metrics.splitlines() if l.startswith(("weft_dns_cache", "weft_dns_forward"))]
    if wanted:
        print("weft dns metrics: " + "; ".join(wanted[:8]))
    summary["weft_metrics"] = metrics
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        log(f"error: {e}")
        sys.exit(1)

#!/usr/bin/env python3
"""bench/proxy harness (Python standard library only). Every namespace it makes is named wbp-…

1. Control plane, in namespace wbp-ctl: `proxy-bench control` (Swift) times ProxySyncer's full syncs of 1,000 and
   10,000 services × 5 endpoints and one-endpoint changes at 10,000, each beside `nft -f` loading the same text.
2. Data plane: two "nodes" side by side, each routing between the same client and backend namespaces:

       wbp-client 10.201.1.2 — wbp-small (10 services)     — 10.201.2.2-4 wbp-backend
                  10.201.3.2 — wbp-large (10,000 services) — 10.201.4.2

   `proxy-bench install` programs the proxy table inside each node: ClusterIPs 10.96.0.10:80 (small) and
   10.97.0.10:80 (large) → the backend's echo server, .11:5201 → its iperf3, 10.96.0.12:80 → three addresses of
   the backend, plus filler services of 5 endpoints. Measured from wbp-client:
   (a) connect + 1-byte request + reply latency through the small node's ClusterIP and the large node's,
       alternating connection by connection (and to the pod IP directly through each node, for reference);
   (b) iperf3 TCP throughput through the large node: ClusterIP vs pod IP vs a plain one-rule DNAT (the kernel's
       NAT alone, the peer), in rotating order round by round;
   (c) which of the three endpoints answers each of N connections to 10.96.0.12.
"""
import argparse, collections, json, os, signal, socket, subprocess, sys, tempfile, time

NAMESPACES = ["wbp-ctl", "wbp-client", "wbp-small", "wbp-large", "wbp-backend"]
# Per node: client side, node side toward the client, node side toward the backend, backend side; service prefix.
NODES = {
    "wbp-small": {"client": "10.201.1.2", "gw_client": "10.201.1.1", "gw_backend": "10.201.2.1",
                  "backend": "10.201.2.2", "services": "10.96.0"},
    "wbp-large": {"client": "10.201.3.2", "gw_client": "10.201.3.1", "gw_backend": "10.201.4.1",
                  "backend": "10.201.4.2", "services": "10.97.0"},
}
SPREAD_BACKENDS = ["10.201.2.2", "10.201.2.3", "10.201.2.4"]
SPREAD = ("10.96.0.12", 80)
children = []

def run(*args, check=True, capture=True):
    r = subprocess.run(list(args), capture_output=capture, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stdout} {r.stderr}")
    return r

def netns(ns, *args):
    return ["ip", "netns", "exec", ns, *args]

def percentile(values, p):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, -(-len(values) * p // 100) - 1))]

def cleanup():
    """Our children, then in each wbp- namespace the proxy table and whatever still runs there, then the namespace."""
    for child in children:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(3)
            except subprocess.TimeoutExpired:
                child.kill()
    existing = run("ip", "netns", "list", check=False).stdout.split()
    for ns in NAMESPACES:
        if ns not in existing:
            continue
        run(*netns(ns, "nft", "delete", "table", "inet", "weft-proxy"), check=False)
        run(*netns(ns, "nft", "delete", "table", "ip", "wbp-plain"), check=False)
        for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        run("ip", "netns", "delete", ns, check=False)

def topology():
    for ns in NAMESPACES:
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    for i, (node, a) in enumerate(NODES.items()):
        for ns, dev, peer, inner, outer in [("wbp-client", f"eth{i}", "to-client", a["client"], a["gw_client"]),
                                            ("wbp-backend", f"eth{i}", "to-backend", a["backend"], a["gw_backend"])]:
            run("ip", "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", node)
            run("ip", "-n", ns, "addr", "add", inner + "/24", "dev", dev)
            run("ip", "-n", node, "addr", "add", outer + "/24", "dev", peer)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "-n", node, "link", "set", peer, "up")
        subnet = lambda address: address.rsplit(".", 1)[0] + ".0/24"
        run("ip", "-n", "wbp-client", "route", "add", a["services"] + ".0/24", "via", a["gw_client"])
        run("ip", "-n", "wbp-client", "route", "add", subnet(a["backend"]), "via", a["gw_client"])
        run("ip", "-n", "wbp-backend", "route", "add", subnet(a["client"]), "via", a["gw_backend"])
        run(*netns(node, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
    for extra in SPREAD_BACKENDS[1:]:
        run("ip", "-n", "wbp-backend", "addr", "add", extra + "/24", "dev", "eth0")

def targets(node):
    """The services the harness talks to on `node`, as `proxy-bench install --target` arguments."""
    a = NODES[node]
    t = [f"{a['services']}.10:80={a['backend']}:8080", f"{a['services']}.11:5201={a['backend']}:5201"]
    if node == "wbp-small":
        t.append(f"{SPREAD[0]}:{SPREAD[1]}=" + ",".join(f"{b}:8080" for b in SPREAD_BACKENDS))
    return [x for target in t for x in ("--target", target)]

def bench_json(bench, ns, *args):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(netns(ns, bench, *args, "--json", out.name), check=True)
        return json.load(open(out.name))

def connect(targets, n, warmup=50):
    """Runs in wbp-client: n rounds, each one connection to every target in turn (connect + 1 byte + reply + close).
    Latencies in µs and answers counted, per target."""
    out = {t: {"samples_us": [], "answers": collections.Counter()} for t in targets}
    for i in range(warmup + n):
        for target in (targets if i % 2 == 0 else targets[::-1]):
            address, port = target.rsplit(":", 1)
            start = time.perf_counter_ns()
            with socket.create_connection((address, int(port)), timeout=2) as s:
                s.sendall(b"x")
                answer = s.recv(64)
            elapsed = (time.perf_counter_ns() - start) / 1000
            if i >= warmup:
                out[target]["samples_us"].append(elapsed)
                out[target]["answers"][answer.decode()] += 1
    return out

def serve(port):
    """Runs in wbp-backend: answers each connection with the local address it reached, then closes."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches it too: end quietly, the harness cleans up
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4096)
    while True:
        c, _ = s.accept()
        with c:
            c.recv(64)
            c.sendall(c.getsockname()[0].encode())

def client(targets, n):
    r = run(*netns("wbp-client", sys.executable, __file__, "connect", *targets, "-n", str(n)))
    return json.loads(r.stdout)

def iperf(address, port, seconds):
    r = run(*netns("wbp-client", "iperf3", "-c", address, "-p", str(port), "-t", str(seconds), "-J"))
    return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9

def wait_for(address, port):
    for _ in range(100):
        if run(*netns("wbp-client", sys.executable, "-c",
                      f"import socket; socket.create_connection(('{address}', {port}), timeout=1).close()"),
               check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{address}:{port} does not answer")

def control_plane(args, results):
    print(f"== control plane (namespace wbp-ctl): sizes {args.sizes}, {args.rounds} rounds, {args.changes} changes")
    with tempfile.TemporaryDirectory(prefix="wbp-") as work:
        results["control"] = bench_json(args.bench, "wbp-ctl", "control", "--sizes", args.sizes, "--rounds",
                                        str(args.rounds), "--changes", str(args.changes), "--dir", work)
    results["spread_buckets"] = bench_json(args.bench, "wbp-ctl", "spread", "--endpoints", "3,50,1000")

def data_plane(args, results):
    print(f"== data plane: {args.large} vs 10 services, {args.rounds} × {args.iterations} connections each")
    children.append(subprocess.Popen(netns("wbp-backend", sys.executable, __file__, "serve", "--port", "8080")))
    children.append(subprocess.Popen(netns("wbp-backend", "iperf3", "-s", "-p", "5201"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    small, large = NODES["wbp-small"], NODES["wbp-large"]
    for node, count in [("wbp-small", 10), ("wbp-large", args.large)]:
        wait_for(NODES[node]["backend"], 8080)
        installed = bench_json(args.bench, node, "install", "--services", str(count), *targets(node))
        print(f"  {node}: {installed['services']} services installed ({installed['sync_s']:.1f} s)")
    wait_for(large["backend"], 5201)
    sides = {"small": f"{small['services']}.10:80", "large": f"{large['services']}.10:80",
             "small_pod": f"{small['backend']}:8080", "large_pod": f"{large['backend']}:8080"}
    latency = {side: [] for side in sides}
    ratios = []
    for round_ in range(args.rounds):
        answer = client(list(sides.values()), args.iterations)
        for side, target in sides.items():
            latency[side] += answer[target]["samples_us"]
        p50 = {side: percentile(answer[target]["samples_us"], 50) for side, target in sides.items()}
        ratios.append(p50["large"] / p50["small"])
        print(f"  round {round_ + 1}: ClusterIP p50 {p50['small']:.0f} µs (10 services), {p50['large']:.0f} µs "
              f"({args.large}); pod IP p50 {p50['small_pod']:.0f} / {p50['large_pod']:.0f} µs")
    results["latency_us"] = {side: {"p50": percentile(v, 50), "p90": percentile(v, 90), "p99": percentile(v, 99),
                                    "count": len(v)} for side, v in latency.items()}
    results["latency_round_p50_ratios"] = ratios
    # The peer for the NAT itself: a plain one-rule DNAT to the same backend, in a table of its own.
    plain = (large["services"] + ".99", 5201)
    run(*netns("wbp-large", "nft", f"add table ip wbp-plain; add chain ip wbp-plain pre {{ type nat hook prerouting "
               f"priority dstnat - 5; }}; add rule ip wbp-plain pre ip daddr {plain[0]} tcp dport {plain[1]} "
               f"dnat to {large['backend']}:5201"))
    rows = []
    paths = {"direct": (large["backend"], 5201), "cluster": (large["services"] + ".11", 5201), "plain": plain}
    for round_ in range(args.throughput_rounds):
        order = list(paths)[round_ % 3:] + list(paths)[:round_ % 3]
        row = {side: iperf(*paths[side], args.seconds) for side in order}
        rows.append(row)
        print(f"  iperf3 round {round_ + 1}: pod IP {row['direct']:.1f}, ClusterIP {row['cluster']:.1f}, "
              f"plain DNAT {row['plain']:.1f} Gbit/s")
    results["throughput_gbps"] = rows
    target = f"{SPREAD[0]}:{SPREAD[1]}"
    answers = client([target], args.spread)[target]["answers"]
    results["spread_measured"] = {a: answers.get(a, 0) for a in SPREAD_BACKENDS}

def report(results, args):
    print("\n== results")
    control = results.get("control", {})
    med = lambda rows, key: percentile([r[key] for r in rows], 50)
    for key, rows in control.items():
        if key.startswith("full_"):
            n = int(key[5:])
            sync, floor = med(rows, "sync_s"), med(rows, "nft_f_s")
            target = f"  (target < 2 s: {'met' if sync < 2 else 'MISSED'})" if n == 10000 else ""
            print(f"full sync {n:>6} × 5: syncer {sync:7.3f} s (backend.apply {med(rows, 'apply_s'):.3f} s), "
                  f"nft -f {floor:7.3f} s, ratio {sync / floor:.2f}; {int(rows[0]['operations'])} operations{target}")
        if key.startswith("change_"):
            sync = [r["sync_s"] * 1000 for r in rows]
            floor = [r["nft_f_s"] * 1000 for r in rows]
            apply = [r["apply_s"] * 1000 for r in rows]
            p50 = percentile(sync, 50)
            print(f"one change at {key[7:]}: set+sync p50 {p50:.1f} ms p99 {percentile(sync, 99):.1f} ms "
                  f"(backend.apply p50 {percentile(apply, 50):.1f} ms), nft -f p50 {percentile(floor, 50):.1f} ms, "
                  f"ratio p50 {p50 / percentile(floor, 50):.2f}; {int(rows[0]['operations'])} operations "
                  f"(target < 50 ms: {'met' if p50 < 50 and percentile(sync, 99) < 50 else 'MISSED'})")
    for n, entry in results.get("spread_buckets", {}).items():
        shares = entry["shares"]
        print(f"spread {n:>4} endpoints (BucketTable, {entry['buckets']} buckets): "
              f"{min(shares):.3f}–{max(shares):.3f} of even")
    if "latency_us" in results:
        lat = results["latency_us"]
        for side, label in [("small", "ClusterIP, 10 services"), ("large", f"ClusterIP, {args.large} services"),
                            ("small_pod", "pod IP via the 10-service node"),
                            ("large_pod", f"pod IP via the {args.large}-service node")]:
            print(f"latency {label}: p50 {lat[side]['p50']:.0f} µs, p90 {lat[side]['p90']:.0f} µs, "
                  f"p99 {lat[side]['p99']:.0f} µs ({lat[side]['count']} connections)")
        print(f"latency ratio {args.large} / 10 services: p50 {lat['large']['p50'] / lat['small']['p50']:.3f}, "
              f"p99 {lat['large']['p99'] / lat['small']['p99']:.3f}; p50 per round "
              f"{', '.join(f'{x:.2f}' for x in results['latency_round_p50_ratios'])} (target ≤ 1.1)")
        rows = results["throughput_gbps"]
        mean = {side: sum(r[side] for r in rows) / len(rows) for side in rows[0]}
        ratios = lambda side: sorted(r[side] / r["direct"] for r in rows)
        print(f"throughput, {len(rows)} rounds: pod IP {mean['direct']:.1f} Gbit/s, ClusterIP {mean['cluster']:.1f}, "
              f"plain DNAT {mean['plain']:.1f}; ClusterIP / pod IP: median of rounds "
              f"{percentile(ratios('cluster'), 50):.2f} (range {ratios('cluster')[0]:.2f}–{ratios('cluster')[-1]:.2f}), "
              f"of means {mean['cluster'] / mean['direct']:.2f} (target ≥ 0.95); plain DNAT / pod IP: median "
              f"{percentile(ratios('plain'), 50):.2f}, of means {mean['plain'] / mean['direct']:.2f}")
        measured = results["spread_measured"]
        total = sum(measured.values())
        print(f"spread measured, 3 endpoints, {total} connections: "
              + ", ".join(f"{a} {c} ({c * 3 / total:.3f} of even)" for a, c in measured.items())
              + " (BucketTable: 1.125, 0.938, 0.938)")

def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    c = sub.add_parser("connect")
    c.add_argument("targets", nargs="+", help="ADDRESS:PORT"); c.add_argument("-n", type=int)
    sub.add_parser("serve").add_argument("--port", type=int)
    sub.add_parser("cleanup")
    b = sub.add_parser("bench")
    b.add_argument("--bench", required=True, help="the proxy-bench binary")
    b.add_argument("--only", choices=["control", "data"])
    b.add_argument("--sizes", default="1000,10000")
    b.add_argument("--rounds", type=int, default=3, help="full syncs per size; latency rounds")
    b.add_argument("--changes", type=int, default=20, help="changes at the largest size (each also undone)")
    b.add_argument("--large", type=int, default=10000, help="services on the large node (10: harness sanity check)")
    b.add_argument("--iterations", type=int, default=1000, help="connections per target and round")
    b.add_argument("--seconds", type=int, default=3, help="iperf3 duration")
    b.add_argument("--throughput-rounds", type=int, default=10, help="rounds of iperf3, each side once per round")
    b.add_argument("--spread", type=int, default=3000, help="connections for the measured spread")
    b.add_argument("--json", help="write every figure to this file")
    args = p.parse_args()
    if args.command == "connect":
        print(json.dumps(connect(args.targets, args.n)))
        return
    if args.command == "serve":
        serve(args.port)
        return
    if args.command == "cleanup":
        cleanup()
        return
    if args.command != "bench":
        p.error("command?")
    def stop(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    results = {}
    try:
        cleanup()  # what an earlier, killed run left
        topology()
        if args.only != "data":
            control_plane(args, results)
        if args.only != "control":
            data_plane(args, results)
        report(results, args)
        if args.json:
            json.dump(results, open(args.json, "w"), indent=1)
    finally:
        cleanup()

if __name__ == "__main__":
    main()

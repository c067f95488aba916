#!/usr/bin/env python3
"""bench/lab harness (Python standard library only).

1. Pod startup: in a 3-node lab, create N pods (a `sleep` container each, spread over the nodes by the
   scheduler) with C creates in flight; a watch records when each pod is first seen Ready with a pod IP.
   Latency = that moment minus the moment its create request was sent (both on this machine's monotonic clock).
2. Throughput: iperf3 from a pod on node-1 to a pod on node-2, for a host-gw lab and a vxlan lab, interleaved
   with the peer: iperf3 between two namespaces joined by one plain veth pair. Ratios are against the veth.
"""
import argparse, base64, http.client, json, os, signal, ssl, statistics, subprocess, sys, threading, time

def run(*args, check=True, capture=True):
    r = subprocess.run(list(args), capture_output=capture, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stdout} {r.stderr}")
    return r

class API:
    """A tiny client for the lab's API server from its admin kubeconfig (token + CA data)."""
    def __init__(self, kubeconfig):
        text = open(kubeconfig).read()
        field = lambda key: next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.strip().startswith(key + ":"))
        server = field("server").removeprefix("https://")
        self.host, self.port = server.rsplit(":", 1)
        self.host = self.host.strip("[]")
        self.token = field("token")
        self.ctx = ssl.create_default_context(cadata=base64.b64decode(field("certificate-authority-data")).decode())
        self.ctx.check_hostname = False

    def connection(self, timeout=30):
        return http.client.HTTPSConnection(self.host, int(self.port), context=self.ctx, timeout=timeout)

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

def pod(name, command, node=None, labels=None):
    spec = {"containers": [{"name": "c", "image": "bench", "command": command}], "terminationGracePeriodSeconds": 1}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}

def lab_up(weft, name, overlay, family="ipv4"):
    run(weft, "lab", "down", "--name", name, check=False)
    run(weft, "lab", "up", "--name", name, "--nodes", "3", "--overlay", overlay, "--ip-family", family)
    kubeconfig = run(weft, "lab", "kubeconfig", "--name", name).stdout.strip()
    return API(kubeconfig)

def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]

def startup(weft, args):
    name = "bstart"
    api = lab_up(weft, name, "vxlan")
    try:
        sent, ready = {}, {}
        done = threading.Event()
        def watch():
            conn = api.connection(timeout=600)
            conn.request("GET", "/api/v1/namespaces/default/pods?watch=1&labelSelector=bench%3Dstartup",
                         headers={"Authorization": "Bearer " + api.token})
            response = conn.getresponse()
            buffer = b""
            while not done.is_set():
                chunk = response.readline()
                if not chunk:
                    break
                buffer += chunk
                if not buffer.endswith(b"\n"):
                    continue
                line, buffer = buffer, b""
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                obj = event.get("object", {})
                pod_name = obj.get("metadata", {}).get("name")
                conditions = obj.get("status", {}).get("conditions", [])
                is_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
                if is_ready and obj.get("status", {}).get("podIP") and pod_name not in ready:
                    ready[pod_name] = time.monotonic()
                    if len(ready) == args.pods:
                        done.set()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        time.sleep(0.5)
        names = [f"p{i:04d}" for i in range(args.pods)]
        lock = threading.Lock()
        queue = list(names)
        def creator():
            conn = api.connection()
            while True:
                with lock:
                    if not queue:
                        break
                    n = queue.pop(0)
                sent[n] = time.monotonic()
                api.request("POST", "/api/v1/namespaces/default/pods",
                            pod(n, ["sleep", "3600"], labels={"bench": "startup"}), conn=conn)
            conn.close()
        started = time.monotonic()
        threads = [threading.Thread(target=creator) for _ in range(args.concurrency)]
        for t in threads: t.start()
        for t in threads: t.join()
        created = time.monotonic() - started
        done.wait(timeout=120)
        latencies = [ready[n] - sent[n] for n in names if n in ready]
        missing = [n for n in names if n not in ready]
        result = {"pods": args.pods, "concurrency": args.concurrency, "create_seconds": created,
                  "p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
                  "p99": percentile(latencies, 99), "max": max(latencies), "not_ready": len(missing)}
        print(f"pod startup, {args.pods} pods over 3 nodes, {args.concurrency} creates in flight "
              f"(all created in {created:.2f} s):")
        print(f"  created -> Ready with an IP: p50 {result['p50']*1000:.0f} ms, p90 {result['p90']*1000:.0f} ms, "
              f"p99 {result['p99']*1000:.0f} ms, max {result['max']*1000:.0f} ms"
              + (f"; {len(missing)} never Ready" if missing else ""))
        print(f"  p99 / 1 s target = {result['p99']:.2f}; p99 / Kubernetes SLO 5 s = {result['p99']/5:.2f}")
        return result
    finally:
        run(weft, "lab", "down", "--name", name, check=False)

def iperf_client(prefix, server_ip, seconds):
    r = run(*prefix, "iperf3", "-c", server_ip, "-t", str(seconds), "-J")
    return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"]

def veth_peer():
    """Two namespaces joined by one veth pair: the baseline."""
    a, b = "wbench-veth-a", "wbench-veth-b"
    for ns in (a, b):
        run("ip", "netns", "del", ns, check=False)
        run("ip", "netns", "add", ns)
    run("ip", "link", "add", "wbva", "netns", a, "type", "veth", "peer", "name", "wbvb", "netns", b)
    run("ip", "-n", a, "addr", "add", "10.254.0.1/24", "dev", "wbva")
    run("ip", "-n", b, "addr", "add", "10.254.0.2/24", "dev", "wbvb")
    for ns, dev in ((a, "wbva"), (b, "wbvb")):
        run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
    server = subprocess.Popen(["ip", "netns", "exec", b, "iperf3", "-s"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    def measure(seconds):
        return iperf_client(["ip", "netns", "exec", a], "10.254.0.2", seconds)
    def close():
        server.terminate()
        server.wait()
        for ns in (a, b):
            run("ip", "netns", "del", ns, check=False)
    return measure, close

def lab_pair(weft, name, overlay):
    api = lab_up(weft, name, overlay)
    api.request("POST", "/api/v1/namespaces/default/pods", pod("server", ["iperf3", "-s"], node="node-2"))
    api.request("POST", "/api/v1/namespaces/default/pods", pod("client", ["sleep", "3600"], node="node-1"))
    deadline = time.monotonic() + 30
    while True:
        pods = {p["metadata"]["name"]: p for p in api.request("GET", "/api/v1/namespaces/default/pods")["items"]}
        ips = {n: p.get("status", {}).get("podIP") for n, p in pods.items()}
        if all(ips.get(n) for n in ("server", "client")) and pods["server"]["status"].get("phase") == "Running":
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"lab {name}: pods not running: {ips}")
        time.sleep(0.2)
    time.sleep(0.5)
    server_ip = ips["server"]
    def measure(seconds):
        return iperf_client([weft, "lab", "exec", "--name", name, "client", "--"], server_ip, seconds)
    def close():
        run(weft, "lab", "down", "--name", name, check=False)
    return measure, close

def throughput(weft, args):
    subjects = {}
    closers = []
    try:
        for label, make in (("veth", lambda: veth_peer()), ("host-gw", lambda: lab_pair(weft, "bhostgw", "host-gw")),
                            ("vxlan", lambda: lab_pair(weft, "bvxlan", "vxlan"))):
            measure, close = make()
            closers.append(close)
            subjects[label] = measure
        results = {label: [] for label in subjects}
        for _ in range(args.rounds):
            for label, measure in subjects.items():
                results[label].append(measure(args.seconds))
        veth = statistics.median(results["veth"])
        print(f"cross-node TCP throughput, iperf3 {args.seconds} s x {args.rounds} rounds (median; the per-round "
              "ratio pairs each run with the veth run next to it, which cancels the machine's drift):")
        summary = {}
        for label, values in results.items():
            median = statistics.median(values)
            per_round = statistics.median(v / p for v, p in zip(values, results["veth"]))
            summary[label] = {"gbps": [v / 1e9 for v in values], "median_gbps": median / 1e9,
                              "ratio_to_veth": median / veth, "median_per_round_ratio": per_round}
            print(f"  {label:8s} {median/1e9:6.2f} Gbit/s   ratio to veth {median/veth:.2f}   "
                  f"per-round ratio {per_round:.2f}")
        return summary
    finally:
        for close in closers:
            close()

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weft", required=True)
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["startup", "throughput"])
    parser.add_argument("--json")
    args = parser.parse_args()
    out = {}
    if args.only != "throughput":
        out["startup"] = startup(args.weft, args)
    if args.only != "startup":
        out["throughput"] = throughput(args.weft, args)
    if args.json:
        json.dump(out, open(args.json, "w"), indent=2)

if __name__ == "__main__":
    main()

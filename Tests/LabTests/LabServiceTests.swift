import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import NFTables
import Testing

extension LabKernelTests {
    /// Services in the lab through each node's `weft agent` (the service proxy): a dual-stack ClusterIP reached from
    /// pods on two nodes over TCP and UDP, spread over the endpoints; its NodePort from the external client on every
    /// node address; a service without endpoints refuses at once.
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabServiceTests {
        static let manifest = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec:
              type: NodePort
              ipFamilyPolicy: PreferDualStack
              selector: {app: web}
              ports: [{name: http, port: 80, targetPort: 8080}, {name: udp, port: 81, targetPort: 8081, protocol: UDP}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: empty}
            spec: {selector: {app: nothing}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-1}
            spec: {nodeName: node-1, containers: [{name: c, image: busybox, command: [sleep, "3600"]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-3}
            spec: {nodeName: node-3, containers: [{name: c, image: busybox, command: [sleep, "3600"]}]}
            """

        @Test func clusterIPsFromPodsOnEveryNode() async throws {
            try await LabUnderTest.with(["--nodes", "3"], manifest: Self.manifest) { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                let web = try await client.get(Service.self, name: "web", namespace: "default")
                let clusterIPs = web.spec?.clusterIPs ?? []
                #expect(clusterIPs.count == 2)
                let weft = LabUnderTest.weftBinary
                for pod in ["client-1", "client-3"] {
                    for ip in clusterIPs {
                        let host = ip.contains(":") ? "[\(ip)]" : ip
                        // 30 connections in one shell, each printing the pod that answered.
                        let loop =
                            "for i in $(seq 30); do \(weft) probe --timeout 5s --protocol http \(host):80; echo; done"
                        let run = try await lab.exec([pod, "--", "sh", "-c", loop])
                        let names = run.stdoutString.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
                        #expect(
                            names.count == 30 && names.allSatisfy { $0.hasPrefix("web-") },
                            "\(pod) → \(host): \(run.stdoutString) \(run.stderrString)")
                        #expect(Set(names).count >= 2, "\(pod) → \(host) reached \(Set(names))")
                        let udp = try await lab.exec([
                            pod, "--", "weft", "probe", "--timeout", "5s", "--protocol", "udp", "\(host):81",
                        ])
                        #expect(
                            udp.exitStatus == 0 && udp.stdoutString.hasPrefix("web-"),
                            "\(pod) → \(host) udp: \(udp.stdoutString)")
                    }
                }
                // NodePort: from the external client to every node's addresses, masqueraded back through it.
                let nodePort = try #require(web.spec?.ports?.first?.nodePort)
                let spec = try lab.spec
                for host in spec.hosts {
                    for address in spec.addresses(of: host) {
                        let target = address.isIPv4 ? "\(address):\(nodePort)" : "[\(address)]:\(nodePort)"
                        let answer = try await lab.exec([
                            "--host", "client", "--", "weft", "probe", "--timeout", "5s", "--protocol", "http", target,
                        ])
                        #expect(
                            answer.exitStatus == 0 && answer.stdoutString.hasPrefix("web-"),
                            "client → \(target): \(answer.stdoutString) \(answer.stderrString)")
                    }
                }
                let empty = try await client.get(Service.self, name: "empty", namespace: "default")
                let emptyIP = try #require(empty.spec?.clusterIP)
                let started = ContinuousClock.now
                let refused = try await lab.exec([
                    "client-1", "--", "weft", "probe", "--timeout", "5s", "--protocol", "tcp", "\(emptyIP):80",
                ])
                #expect(
                    refused.exitStatus == 1, "refused, not timed out: \(refused.stdoutString) \(refused.stderrString)")
                #expect(ContinuousClock.now - started < .seconds(2))
            }
        }
    }
}

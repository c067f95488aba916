import APIServer
import Agent
import CNI
import Foundation
import KubeClient
import KubeModel
import Logging
import MultiNetwork
import Testing
import WeftNet

/// The agent's resolver and socket server against a real `APIServer` (in-process): plans from
/// NetworkAttachmentDefinitions and annotated pods, each kind of bad input as a failure naming the problem with
/// a Warning Event, and the network-status annotation written from weft-cni's report.
@Suite struct MultiNetworkAgentTests {
    static func withAPIServer(_ body: (KubeClient) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "wfmn-apiserver-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try APIServer(configuration: APIServerConfiguration(dataDir: directory, port: 0))
        try await server.start()
        let client = try KubeClient(
            configuration: try KubeConfig.load(path: server.kubeconfigPath).clientConfiguration())
        do {
            try await body(client)
        } catch {
            try? await client.shutdown()
            await server.shutdown(gracePeriod: .seconds(1))
            throw error
        }
        try await client.shutdown()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    static func decode<T: KubeObject>(_ yaml: String) throws -> T {
        try Manifest.decode(try #require(try Manifest.decodeDocuments(yaml).first))
    }

    @discardableResult
    static func pod(_ client: KubeClient, _ name: String, networks: String?) async throws -> Pod {
        var pod: Pod = try decode(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name), namespace: team}
            spec: {nodeName: node-1, containers: [{name: c, image: x}]}
            """)
        if let networks { pod.metadata.annotations = [NetworkSelection.annotation: networks] }
        return try await client.create(pod)
    }

    static func nad(_ client: KubeClient, _ namespace: String, _ name: String, _ config: String) async throws {
        _ = try await client.create(
            NetworkAttachmentDefinition(metadata: ObjectMeta(name: name, namespace: namespace), config: config))
    }

    static func reference(_ pod: Pod) -> PodReference {
        PodReference(
            namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "",
            containerID: "sandbox-1")
    }

    /// The blocking client on a thread of its own, off the cooperative pool.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    @Test func resolvesServesAndWritesTheStatus() async throws {
        try await Self.withAPIServer { client in
            for ns in ["team", "other"] {
                _ = try await client.create(
                    try Self.decode("apiVersion: v1\nkind: Namespace\nmetadata: {name: \(ns)}") as Namespace)
            }
            try await Self.nad(
                client, "team", "mv",
                #"{"cniVersion":"1.0.0","type":"macvlan","master":"eth0","ipam":{"type":"static"},"capabilities":{"ips":true}}"#
            )
            try await Self.nad(
                client, "team", "br",
                #"{"cniVersion":"1.0.0","name":"br-net","plugins":[{"type":"bridge","bridge":"br1","ipam":{"type":"host-local","subnet":"10.10.0.0/24"}}]}"#
            )
            try await Self.nad(client, "other", "secret", #"{"cniVersion":"1.0.0","type":"macvlan"}"#)
            try await Self.nad(client, "team", "broken", "{not json")
            let web = try await Self.pod(
                client, "web", networks: #"[{"name":"mv","interface":"data0","ips":["10.5.0.7/24"]},{"name":"br"}]"#)

            let resolver = MultiNetworkResolver(
                client: client, definitions: nil, policy: .isolated, nodeName: "node-1", logger: Logger(label: "t"))
            guard case .plan(let plan) = await resolver.resolve(Self.reference(web), clusterInterface: "eth0") else {
                Issue.record("no plan")
                return
            }
            #expect(plan.attachments.map(\.ifname) == ["data0", "net2"])
            #expect(plan.attachments.map(\.attachment) == ["team/mv", "team/br"])
            #expect(plan.attachments.map(\.networkName) == ["mv", "br-net"])
            #expect(plan.attachments[0].capabilityArgs["ips"] == .array([.string("10.5.0.7/24")]))
            #expect(plan.attachments[0].plugins.count == 1 && plan.attachments[0].conflist["name"] == .string("mv"))
            #expect(plan.attachments[1].cniArgs.contains(CNIArg("K8S_POD_INFRA_CONTAINER_ID", "sandbox-1")))
            #expect(plan.attachments[1].cniArgs.contains(CNIArg("K8S_POD_UID", web.metadata.uid ?? "")))

            // Without an annotation: nothing to do.
            let plain = try await Self.pod(client, "plain", networks: nil)
            #expect(await resolver.resolve(Self.reference(plain), clusterInterface: "eth0") == .noAttachments)

            // Bad input, each named.
            let cases: [(String, String, String)] = [
                ("lost", "missing", "NetworkAttachmentDefinition team/missing not found"),
                ("malformed", #"[{"name": 5}]"#, "network 1: \"name\" is a number, not a string"),
                ("crossing", "other/secret", "namespace isolation forbids it"),
                ("twice", "mv@net1,br@net1", "interface name \"net1\" is requested twice"),
                ("notjson", "broken", "NetworkAttachmentDefinition team/broken: spec.config is not JSON"),
            ]
            for (name, networks, expected) in cases {
                let pod = try await Self.pod(client, name, networks: networks)
                guard case .failure(let message) = await resolver.resolve(Self.reference(pod), clusterInterface: "eth0")
                else {
                    Issue.record("\(name): no failure")
                    continue
                }
                #expect(message.contains(expected), "\(name): \(message)")
            }
            var stale = Self.reference(web)
            stale.uid = "another"
            guard case .failure(let recreated) = await resolver.resolve(stale, clusterInterface: "eth0") else {
                Issue.record("stale UID resolved")
                return
            }
            #expect(recreated.contains("recreated"))

            // Events: one per pod and message, counted.
            let lost = try await client.get(Pod.self, name: "lost", namespace: "team")
            _ = await resolver.resolve(Self.reference(lost), clusterInterface: "eth0")
            let events = try await client.list(Event.self, namespace: "team").items
            let lostEvents = events.filter { $0.involvedObject.name == "lost" }
            #expect(lostEvents.count == 1)
            #expect(lostEvents.first?.reason == "FailedCreatePodSandBox" && lostEvents.first?.type == "Warning")
            #expect(lostEvents.first?.message == "NetworkAttachmentDefinition team/missing not found")
            #expect(lostEvents.first?.count == 2)
            #expect(lostEvents.first?.involvedObject.uid == lost.metadata.uid)
            #expect(
                Set(events.compactMap(\.involvedObject.name)) == ["lost", "malformed", "crossing", "twice", "notjson"])

            // Over the socket, with the informer's store.
            let socket = NSTemporaryDirectory() + "wfmn-\(UUID().uuidString.prefix(8)).sock"
            let informer = Informer<NetworkAttachmentDefinition>(client: client)
            let served = MultiNetworkResolver(
                client: client, definitions: informer.store, nodeName: "node-1", logger: Logger(label: "t"))
            let server = MultiNetworkServer(
                socketPath: socket, resolver: served, informer: informer, logger: Logger(label: "t"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                defer { group.cancelAll() }
                let deadline = ContinuousClock.now + .seconds(10)
                while !FileManager.default.fileExists(atPath: socket) || !informer.hasSynced {
                    guard ContinuousClock.now < deadline else { throw CancellationError() }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let ref = Self.reference(web)
                let answer = await Self.onThread {
                    Result {
                        try MultiNetworkClient(socketPath: socket, timeoutSeconds: 5).resolve(
                            ref, clusterInterface: "eth0")
                    }
                }
                #expect(try answer.get() == .plan(plan))

                // The report → the network-status annotation, cluster network first.
                let results = [
                    AttachmentOutcome(
                        attachment: "weft", ifname: "eth0", isDefault: true,
                        result: try JSONValue(
                            parsing:
                                #"{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"0a:58:0a:f4:01:05","sandbox":"/run/netns/p"}],"ips":[{"address":"10.244.1.5/24","interface":0}]}"#
                        )),
                    AttachmentOutcome(
                        attachment: "team/mv", ifname: "data0", isDefault: false,
                        result: try JSONValue(
                            parsing:
                                #"{"cniVersion":"1.0.0","interfaces":[{"name":"data0","mac":"02:11:22:33:44:55","sandbox":"/run/netns/p"}],"ips":[{"address":"10.5.0.7/24","interface":0}],"dns":{"nameservers":["10.5.0.1"]}}"#
                        )),
                    AttachmentOutcome(
                        attachment: "team/br", ifname: "net2", isDefault: false,
                        result: try JSONValue(
                            parsing:
                                #"{"cniVersion":"0.3.1","interfaces":[{"name":"br1"},{"name":"vethx"},{"name":"net2","mac":"02:aa:bb:cc:dd:ee","sandbox":"/run/netns/p"}],"ips":[{"version":"4","address":"10.10.0.2/24","interface":2}]}"#
                        )),
                ]
                let reported = await Self.onThread {
                    Result {
                        try MultiNetworkClient(socketPath: socket, timeoutSeconds: 5).report(
                            ref, clusterNetwork: "weft", results: results, error: nil)
                    }
                }
                try reported.get()
                let annotated = try await client.get(Pod.self, name: "web", namespace: "team")
                let status = try JSONValue(
                    parsing: try #require(annotated.metadata.annotations?[NetworkStatus.annotation]))
                #expect(
                    status
                        == (try JSONValue(
                            parsing: #"""
                                [{"name":"weft","interface":"eth0","ips":["10.244.1.5"],"mac":"0a:58:0a:f4:01:05","default":true,"dns":{}},
                                 {"name":"team/mv","interface":"data0","ips":["10.5.0.7"],"mac":"02:11:22:33:44:55","dns":{"nameservers":["10.5.0.1"]}},
                                 {"name":"team/br","interface":"net2","ips":["10.10.0.2"],"mac":"02:aa:bb:cc:dd:ee","dns":{}}]
                                """#)))
                // The networks annotation is untouched.
                #expect(
                    annotated.metadata.annotations?[NetworkSelection.annotation]
                        == web.metadata.annotations?[NetworkSelection.annotation])

                // A failed ADD's report becomes an Event; a malformed request is answered, not dropped.
                let failed = await Self.onThread {
                    Result {
                        try MultiNetworkClient(socketPath: socket, timeoutSeconds: 5).report(
                            ref, clusterNetwork: "weft", results: [], error: "attaching team/br (net2) failed: boom")
                    }
                }
                try failed.get()
                let webEvents = try await client.list(Event.self, namespace: "team").items.filter {
                    $0.involvedObject.name == "web"
                }
                #expect(webEvents.map(\.message) == ["attaching team/br (net2) failed: boom"])
                let garbage = await Self.onThread {
                    Result { try MultiNetworkClient(socketPath: socket, timeoutSeconds: 5).exchange(.string("hello")) }
                }
                #expect(try garbage.get()["ok"] == .bool(false))
            }
        }
    }
}

import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import NFTables
import Testing
import WeftNet

extension LabKernelTests {
    /// Secondary networks (issue 9) in a two-node lab, through the reference plugins in /usr/lib/cni: a macvlan
    /// network on each node's uplink (`eth0`, itself a macvlan on the lab's underlay, so every node's pods share
    /// one segment) with host-local addresses, a bridge network with `static` addresses, and a bridge network with
    /// host-local ones for the crowd. The binaries are this build's (the directory of the test bundle), so a
    /// scratch path other than `.build` tests its own `weft`.
    @Suite(.serialized, .enabled(if: getuid() == 0 && MultiNetworkLab.hasBinaries))
    struct LabMultiNetworkTests {
        @Test func podsWithSecondaryNetworks() async throws {
            try await MultiNetworkLab.with { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                try await lab.createNetworks(client)

                // a and b on node-1 (both networks), c on node-2 (macvlan only).
                let start = ContinuousClock.now
                try await lab.pod(
                    client, "a", node: "node-1", networks: #"[{"name":"mv"},{"name":"st","ips":["10.60.0.10/24"]}]"#)
                try await lab.pod(
                    client, "b", node: "node-1", networks: #"[{"name":"mv"},{"name":"st","ips":["10.60.0.11/24"]}]"#)
                try await lab.pod(
                    client, "c", node: "node-2", networks: #"[{"name":"mv","default-route":["10.50.0.254"]}]"#)
                for name in ["a", "b", "c"] { try await lab.waitRunning(client, name) }
                print("3 pods with secondary networks running after \(ContinuousClock.now - start)")

                // The network-status annotation: the cluster network first, then each attachment.
                let a = try await client.get(Pod.self, name: "a", namespace: "default")
                let status = try JSONValue(
                    parsing: try #require(a.metadata.annotations?["k8s.v1.cni.cncf.io/network-status"]))
                let entries = try #require(status.arrayValue)
                #expect(entries.map { $0["name"]?.stringValue } == ["weft", "default/mv", "default/st"])
                #expect(entries.map { $0["interface"]?.stringValue } == ["eth0", "net1", "net2"])
                #expect(entries[0]["default"] == .bool(true) && entries[1]["default"] == nil)
                #expect(entries[2]["ips"] == .array([.string("10.60.0.10")]))
                #expect(entries.allSatisfy { $0["mac"]?.stringValue?.count == 17 })
                let aNet1 = try #require(entries[1]["ips"]?.arrayValue?.first?.stringValue)
                #expect(aNet1.hasPrefix("10.50.0."))
                // kubectl shows it (it is an annotation).
                let shown = try await lab.kubectl(["get", "pod", "a", "-o", "jsonpath={.metadata.annotations}"])
                #expect(shown.stdoutString.contains("network-status") && shown.stdoutString.contains("default/st"))

                // Inside the pod: three interfaces.
                let links = try await lab.exec(["a", "--", "/usr/sbin/ip", "-o", "addr", "show"])
                for expected in ["eth0", "net1", "net2", "10.60.0.10/24", aNet1 + "/24"] {
                    #expect(links.stdoutString.contains(expected), "\(expected) in \(links.stdoutString)")
                }

                // Pods on the same attachment reach each other over it: static bridge on node-1, macvlan across nodes.
                let c = try await client.get(Pod.self, name: "c", namespace: "default")
                let cStatus = try JSONValue(
                    parsing: try #require(c.metadata.annotations?["k8s.v1.cni.cncf.io/network-status"]))
                let cNet1 = try #require(cStatus.arrayValue?[1]["ips"]?.arrayValue?.first?.stringValue)
                let b = try await client.get(Pod.self, name: "b", namespace: "default")
                let bStatus = try JSONValue(
                    parsing: try #require(b.metadata.annotations?["k8s.v1.cni.cncf.io/network-status"]))
                let bNet1 = try #require(bStatus.arrayValue?[1]["ips"]?.arrayValue?.first?.stringValue)
                for target in ["10.60.0.11", bNet1, cNet1] {
                    let ping = try await lab.exec(["a", "--", "/usr/bin/ping", "-c", "1", "-W", "2", target])
                    #expect(ping.succeeded, "a → \(target): \(ping.stdoutString) \(ping.stderrString)")
                }
                let probe = try await lab.exec(
                    ["a", "--", MultiNetworkLab.weftBinary, "probe", "--timeout", "2s", "\(cNet1):8080"])
                #expect(probe.succeeded, "a → c:8080 over net1: \(probe.stdoutString) \(probe.stderrString)")

                // default-route: c's default route goes via its macvlan, not the cluster network.
                let routes = try await lab.exec(["c", "--", "/usr/sbin/ip", "-4", "route", "show", "default"])
                #expect(
                    routes.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
                        == "default via 10.50.0.254 dev net1", "\(routes.stdoutString)")

                // Deleting a removes every interface and releases every address.
                let node1 = try lab.spec.topology.node(1)
                let bridgePortsBefore = try lab.bridgePorts(node1, "mnbr0")
                #expect(bridgePortsBefore == 2)
                let uid = try #require(a.metadata.uid)
                try await client.delete(Pod.self, name: "a", namespace: "default")
                try #require(await lab.waitGone(client, "a"))
                #expect(try lab.bridgePorts(node1, "mnbr0") == 1)
                #expect(!lab.reservedAddresses("mv").contains(aNet1))
                #expect(lab.filesMentioning(uid).isEmpty, "left behind: \(lab.filesMentioning(uid))")
                #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(lab.podNamespace(uid))"))

                // A missing NAD: the pod fails with an event naming it and leaves nothing behind.
                let lost = try await lab.pod(client, "lost", node: "node-1", networks: "mv,missing")
                let lostEvent = try await lab.waitEvent(client, "lost")
                #expect(lostEvent.reason == "FailedCreatePodSandBox" && lostEvent.type == "Warning")
                #expect(lostEvent.message == "NetworkAttachmentDefinition default/missing not found")
                try await Task.sleep(for: .seconds(1))
                #expect(try await client.get(Pod.self, name: "lost", namespace: "default").status?.phase != "Running")
                // The kubelet retries the sandbox; between tries nothing of it is left.
                let lostUID = try #require(lost.metadata.uid)
                let clean = await MultiNetworkLab.eventually(.seconds(10)) {
                    lab.filesMentioning(lostUID).isEmpty && (try? lab.bridgePorts(node1, "mnbr0")) == 1
                        && lab.reservedAddresses("mv").count == 2
                }
                #expect(clean, "left behind: \(lab.filesMentioning(lostUID)), mv \(lab.reservedAddresses("mv"))")

                // A malformed annotation: the message names the problem.
                _ = try await lab.pod(
                    client, "malformed", node: "node-2", networks: #"[{"name":"mv","interface":"eth0"}]"#)
                let clash = try await lab.waitEvent(client, "malformed")
                #expect(
                    clash.message?.contains("interface name \"eth0\" is requested twice") == true,
                    "\(clash.message ?? "")")
                _ = try await lab.pod(client, "garbled", node: "node-2", networks: #"[{"name":"mv""#)
                let garbled = try await lab.waitEvent(client, "garbled")
                #expect(
                    garbled.message?.contains("k8s.v1.cni.cncf.io/networks is malformed JSON") == true,
                    "\(garbled.message ?? "")")
                for name in ["b", "c", "lost", "malformed", "garbled"] {
                    try await client.delete(Pod.self, name: name, namespace: "default")
                }
                for name in ["b", "c", "lost", "malformed", "garbled"] { _ = await lab.waitGone(client, name) }
                #expect(lab.reservedAddresses("mv").isEmpty, "\(lab.reservedAddresses("mv"))")
                #expect(lab.savedPlans().isEmpty, "\(lab.savedPlans())")
            }
        }

        @Test func fiftyPodsWithTwoAttachmentsStartTogether() async throws {
            try await MultiNetworkLab.with { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                try await lab.createNetworks(client)
                let names = (0..<50).map { "crowd-\($0)" }
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (n, name) in names.enumerated() {
                        group.addTask {
                            try await lab.pod(client, name, node: n % 2 == 0 ? "node-1" : "node-2", networks: "mv,hl")
                        }
                    }
                    try await group.waitForAll()
                }
                var running = 0
                let ok = await MultiNetworkLab.eventually(.seconds(180)) {
                    let pods = (try? await client.list(Pod.self, namespace: "default").items) ?? []
                    running = pods.filter { $0.status?.phase == "Running" }.count
                    return running == names.count
                }
                let elapsed = ContinuousClock.now - start
                print("50 pods × 2 attachments: \(running) running after \(elapsed)")
                #expect(ok, "only \(running) of 50 running")
                let events = try await client.list(Event.self, namespace: "default").items.filter {
                    $0.reason == "FailedCreatePodSandBox"
                }
                #expect(events.isEmpty, "\(events.map { $0.message ?? "" })")
                let pods = try await client.list(Pod.self, namespace: "default").items
                var addresses: Set<String> = []
                for pod in pods {
                    let status = try JSONValue(
                        parsing: pod.metadata.annotations?["k8s.v1.cni.cncf.io/network-status"] ?? "null")
                    #expect(status.arrayValue?.count == 3, "\(pod.metadata.name ?? ""): \(status)")
                    for entry in status.arrayValue ?? [] where entry["default"] == nil {
                        addresses.insert(entry["ips"]?.arrayValue?.first?.stringValue ?? "")
                    }
                }
                #expect(addresses.count == 100)
                #expect(lab.reservedAddresses("mv").count == 50 && lab.reservedAddresses("hl").count == 50)

                let deleteStart = ContinuousClock.now
                for name in names { try await client.delete(Pod.self, name: name, namespace: "default") }
                let gone = await MultiNetworkLab.eventually(.seconds(120)) {
                    ((try? await client.list(Pod.self, namespace: "default").items) ?? []).isEmpty
                }
                print("50 pods × 2 attachments deleted after \(ContinuousClock.now - deleteStart)")
                #expect(gone)
                #expect(lab.reservedAddresses("mv").isEmpty && lab.reservedAddresses("hl").isEmpty)
                #expect(lab.savedPlans().isEmpty, "\(lab.savedPlans())")
            }
        }
    }
}

/// A lab run with this build's binaries, and what the tests look at.
struct MultiNetworkLab: Sendable {
    let name: String

    /// The directory of the test bundle: the build's products (`weft`, `weft-cni`).
    static var buildDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var parts = exe.split(separator: "/")
        while let last = parts.last, !last.hasSuffix(".xctest") { parts.removeLast() }
        if !parts.isEmpty { parts.removeLast() }
        return "/" + parts.joined(separator: "/")
    }
    static var weftBinary: String { buildDirectory + "/weft" }
    static let hasBinaries =
        access(buildDirectory + "/weft", X_OK) == 0 && access(buildDirectory + "/weft-cni", X_OK) == 0

    static func weft(_ arguments: [String]) async throws -> ProcessResult {
        try await ChildProcess.run(
            SpawnOptions(
                executable: weftBinary, arguments: arguments, environment: ["PATH": ContainerLaunch.defaultPath]),
            input: nil)
    }

    /// A two-node IPv4 lab for `body`, always taken down, with nothing of it left.
    static func with(_ body: (MultiNetworkLab) async throws -> Void) async throws {
        let lab = MultiNetworkLab(name: LabUnderTest.uniqueName())
        do {
            let up = try await weft(["lab", "up", "--name", lab.name, "--nodes", "2", "--ip-family", "ipv4"])
            try #require(up.succeeded, "weft lab up failed: \(up.stdoutString) \(up.stderrString)")
            try await body(lab)
        } catch {
            _ = try? await weft(["lab", "down", "--name", lab.name])
            LabUnderTest.expectNothingLeft(of: lab.name)
            throw error
        }
        let down = try await weft(["lab", "down", "--name", lab.name])
        #expect(down.succeeded, "weft lab down: \(down.stdoutString) \(down.stderrString)")
        LabUnderTest.expectNothingLeft(of: lab.name)
    }

    var spec: LabSpec {
        get throws {
            guard let spec = try LabSpec.load(name: name) else { throw LabControlError.noSuchLab(name) }
            return spec
        }
    }
    var state: String { "/run/weft/lab/\(name)" }
    /// host-local's store of the secondary networks: inside the lab's state, so `down` removes it.
    var ipamDirectory: String { state + "/multinet-ipam" }

    func client() throws -> KubeClient {
        try KubeClient(
            configuration: try KubeConfig.load(path: "/var/lib/weft/lab/\(name)/kubeconfig").clientConfiguration())
    }

    func exec(_ arguments: [String]) async throws -> ProcessResult {
        try await Self.weft(["lab", "exec", "--name", name] + arguments)
    }

    func kubectl(_ arguments: [String]) async throws -> ProcessResult {
        try await ChildProcess.run(
            SpawnOptions(
                executable: LabUnderTest.kubectl,
                arguments: ["--kubeconfig", "/var/lib/weft/lab/\(name)/kubeconfig"] + arguments,
                environment: ["PATH": ContainerLaunch.defaultPath, "HOME": "/tmp"]),
            input: nil)
    }

    /// mv: macvlan on the node's uplink, host-local; st: a bridge with static addresses; hl: a bridge with
    /// host-local addresses.
    func createNetworks(_ client: KubeClient) async throws {
        let configs = [
            "mv":
                #"{"cniVersion":"1.0.0","name":"mv","type":"macvlan","master":"eth0","mode":"bridge","ipam":{"type":"host-local","subnet":"10.50.0.0/24","dataDir":"\#(ipamDirectory)"}}"#,
            "st":
                #"{"cniVersion":"1.0.0","name":"st","plugins":[{"type":"bridge","bridge":"mnbr0","capabilities":{"ips":true},"ipam":{"type":"static"}}]}"#,
            "hl":
                #"{"cniVersion":"1.0.0","name":"hl","plugins":[{"type":"bridge","bridge":"mnbr1","ipam":{"type":"host-local","subnet":"10.70.0.0/16","dataDir":"\#(ipamDirectory)"}},{"type":"tuning","mtu":1400}]}"#,
        ]
        for (name, config) in configs {
            _ = try await client.create(
                NetworkAttachmentDefinition(metadata: ObjectMeta(name: name, namespace: "default"), config: config))
        }
    }

    /// A pod serving HTTP on 8080 (`weft serve`), on `node`, with the networks annotation.
    @discardableResult
    func pod(_ client: KubeClient, _ name: String, node: String, networks: String) async throws -> Pod {
        let manifest = """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name), namespace: default}
            spec:
              nodeName: \(node)
              containers:
              - {name: serve, image: agnhost, command: [weft, serve, --http-port, "8080"]}
            """
        var pod: Pod = try Manifest.decode(try #require(try Manifest.decodeDocuments(manifest).first))
        pod.metadata.annotations = ["k8s.v1.cni.cncf.io/networks": networks]
        return try await client.create(pod)
    }

    func waitRunning(_ client: KubeClient, _ name: String) async throws {
        let ok = await Self.eventually(.seconds(30)) {
            (try? await client.get(Pod.self, name: name, namespace: "default"))?.status?.phase == "Running"
        }
        try #require(ok, "pod \(name) is not running")
    }

    func waitGone(_ client: KubeClient, _ name: String) async -> Bool {
        await Self.eventually(.seconds(30)) {
            do {
                _ = try await client.get(Pod.self, name: name, namespace: "default")
                return false
            } catch {
                return true
            }
        }
    }

    func waitEvent(_ client: KubeClient, _ pod: String) async throws -> Event {
        var found: Event?
        _ = await Self.eventually(.seconds(20)) {
            found = ((try? await client.list(Event.self, namespace: "default").items) ?? []).first {
                $0.involvedObject.name == pod && $0.reason == "FailedCreatePodSandBox"
            }
            return found != nil
        }
        return try #require(found, "no FailedCreatePodSandBox event for \(pod)")
    }

    /// Ports of `bridge` in the node's namespace.
    func bridgePorts(_ node: LabHost, _ bridge: String) throws -> Int {
        let result = try ProcessRunner.runSync(
            "/usr/sbin/ip", ["-n", node.namespace, "-o", "link", "show", "master", bridge])
        return result.split(separator: "\n").count
    }

    /// Addresses host-local holds for network `network`.
    func reservedAddresses(_ network: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: ipamDirectory + "/" + network)) ?? []).filter {
            IPAddress($0) != nil
        }
    }

    /// weft-cni's saved plans on every node.
    func savedPlans() -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: state + "/nodes")) ?? []).filter {
            $0.contains("/multinet/") && $0.hasSuffix(".json")
        }
    }

    /// Files of the lab's CNI state and IPAM (weft's and host-local's) that name `uid` (the container ID).
    func filesMentioning(_ uid: String) -> [String] {
        let roots = [state + "/nodes", ipamDirectory]
        var out: [String] = []
        for root in roots {
            for path in (try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? [] {
                let full = root + "/" + path
                if full.contains("/cni/cache/") || full.contains("/pods/") { continue }
                if path.contains(uid) {
                    out.append(full)
                    continue
                }
                if let data = FileManager.default.contents(atPath: full), data.count < 4096,
                    String(decoding: data, as: UTF8.self).contains(uid)
                {
                    out.append(full)
                }
            }
        }
        return out
    }

    func podNamespace(_ uid: String) -> String { "weft-\(name).pod-\(uid)" }

    static func eventually(_ timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
        try await LabUnderTest.eventually(timeout, condition)
    }
}

extension ProcessRunner {
    /// Runs a command and returns its stdout (empty when it fails).
    static func runSync(_ path: String, _ arguments: [String]) throws -> String {
        let result = try ProcessRunner.run(path, arguments: arguments, environment: ["PATH": "/usr/sbin:/usr/bin"])
        return result.stdoutString
    }
}

import Foundation
import Glibc
import KubeClient
import KubeModel
import Netlink
import WeftNet

/// What a lab command could not do, in words for the user.
public enum LabControlError: Error, CustomStringConvertible, Equatable {
    case noSuchLab(String)
    case labExists(String)
    case noFreeIndex
    case notRoot
    case manifest(String)
    case startFailed(String)
    case timedOut(String)
    case noSuchPod(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .noSuchLab(let name): "no lab named \"\(name)\" on this machine (see `weft lab status`)"
        case .labExists(let name):
            "a lab named \"\(name)\" already exists; remove it with `weft lab down --name \(name)` or pick another --name"
        case .noFreeIndex: "every lab index is taken (\(LabTopology.maximumIndex + 1) labs); remove one first"
        case .notRoot: "weft lab needs root (network namespaces, links, nftables)"
        case .manifest(let why): why
        case .startFailed(let why): "the lab did not start: \(why)"
        case .timedOut(let why): why
        case .noSuchPod(let why): why
        case .invalid(let why): why
        }
    }
}

/// The lab commands' work, shared by the CLI and the tests: bring a lab up, tear it down (also a half-made or
/// crashed one), and find its pods.
public enum LabControl {
    /// The labs with state on this machine.
    public static func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/run/weft/lab")) ?? []).sorted()
    }

    public static func requireRoot() throws {
        guard getuid() == 0 else { throw LabControlError.notRoot }
    }

    // MARK: Up

    /// Creates the lab's network and state, and starts its supervisor (`weft lab run`) in the background; returns
    /// once every node is Ready. On failure everything made is removed.
    public static func create(
        name: String, nodes: Int, overlay: LabOverlay, ipFamily: LabIPFamily, weftBinary: String,
        progress: (String) -> Void = { _ in }
    ) async throws -> LabSpec {
        try requireRoot()
        try LabTopology.validate(name: name)
        guard (1...LabTopology.maximumNodes).contains(nodes) else { throw LabError.invalidNodeCount(nodes) }
        if exists(name) { throw LabControlError.labExists(name) }
        guard let index = LabTopology.freeIndex(taken: try LabNetwork.indexesInUse()) else {
            throw LabControlError.noFreeIndex
        }
        let spec = LabSpec(name: name, index: index, nodes: Array(1...nodes), overlay: overlay, ipFamily: ipFamily)
        let paths = LabPaths(spec.topology)
        do {
            try spec.save()
            progress("network: \(nodes) nodes on \(spec.topology.underlayIPv4) and \(spec.topology.underlayIPv6)")
            try LabNetwork.create(spec.topology)
            var options = SpawnOptions(
                executable: weftBinary, arguments: ["lab", "run", "--name", name],
                environment: ["PATH": ContainerLaunch.defaultPath])
            options.stdout = .file(paths.log)
            options.stderr = .file(paths.log)
            options.newSession = true
            let supervisor = try ChildProcess.spawn(options)
            progress("control plane: API server, kubelets and agents (log: \(paths.log))")
            try await waitForNodes(spec, supervisor: supervisor, progress: progress)
            return spec
        } catch {
            try? destroy(name: name)
            throw error
        }
    }

    /// Whether anything of a lab named `name` exists (state, namespaces or the machine's link).
    public static func exists(_ name: String) -> Bool {
        let topology = try? LabTopology(name: name, index: 0, nodeCount: 1)
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: NetNS.namedDirectory)) ?? []
        return FileManager.default.fileExists(atPath: "/run/weft/lab/\(name)")
            || namespaces.contains { $0 == topology?.rootNamespace || $0.hasPrefix(topology?.namespacePrefix ?? "\0") }
            || (try? LabNetwork.index(ofLabNamed: name)) != nil
    }

    /// Waits until the API server answers and every node of `spec` is Ready.
    static func waitForNodes(
        _ spec: LabSpec, supervisor: ChildProcess?, timeout: Duration = .seconds(60), progress: (String) -> Void
    ) async throws {
        let paths = LabPaths(spec.topology)
        let deadline = ContinuousClock.now + timeout
        var client: KubeClient?
        defer { if let client { Task { try? await client.shutdown() } } }
        var reported = -1
        while ContinuousClock.now < deadline {
            if let supervisor, supervisor.exitStatus != nil {
                throw LabControlError.startFailed("the supervisor exited; its log says:\n" + tail(paths.log))
            }
            if client == nil, FileManager.default.fileExists(atPath: paths.kubeconfig) {
                client = try? KubeClient(
                    configuration: try KubeConfig.load(path: paths.kubeconfig).clientConfiguration())
            }
            if let client, let nodes = try? await client.list(Node.self) {
                let ready = nodes.items.filter { node in
                    node.isReady && spec.hosts.contains { $0.name == node.metadata.name }
                }.count
                if ready != reported {
                    progress("nodes ready: \(ready)/\(spec.nodes.count)")
                    reported = ready
                }
                if ready == spec.nodes.count { return }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LabControlError.timedOut(
            "the lab's nodes were not Ready within \(timeout); its log says:\n" + tail(paths.log))
    }

    /// The last lines of a log file.
    public static func tail(_ path: String, lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    // MARK: Down

    /// Removes everything of the lab `name`: its supervisor, every process in its namespaces, the namespaces (and
    /// so their links, routes and nft tables), the machine's link, and its files. Works on a half-made or crashed
    /// lab; touches nothing of another lab. Throws `noSuchLab` when nothing of it exists.
    public static func destroy(name: String) throws {
        try requireRoot()
        try LabTopology.validate(name: name)
        guard exists(name) || FileManager.default.fileExists(atPath: "/var/lib/weft/lab/\(name)") else {
            throw LabControlError.noSuchLab(name)
        }
        let spec = try? LabSpec.load(name: name)
        let index = try spec?.index ?? LabNetwork.index(ofLabNamed: name) ?? 0
        let topology = try LabTopology(name: name, index: index, nodeCount: 1)
        let paths = LabPaths(topology)

        if let pid = supervisorPID(paths: paths, name: name) {
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(3)
            while kill(pid, 0) == 0, ContinuousClock.now < deadline { usleep(20_000) }
            kill(pid, SIGKILL)
        }
        let namespaces = ((try? FileManager.default.contentsOfDirectory(atPath: NetNS.namedDirectory)) ?? [])
            .filter { $0 == topology.rootNamespace || $0.hasPrefix(topology.namespacePrefix) }
            .map { NetNS.namedDirectory + "/" + $0 }
        for _ in 0..<50 {
            let pids = NamespaceProcesses.pids(inNetworkNamespaces: namespaces)
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        try LabNetwork.delete(topology)
        for directory in [paths.state, paths.data] where FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.removeItem(atPath: directory)
        }
    }

    /// The running supervisor's pid, when the pid file names a live `weft lab run --name NAME`.
    static func supervisorPID(paths: LabPaths, name: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: paths.pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return nil }
        let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard arguments.contains("run"), let i = arguments.firstIndex(of: "--name"), i + 1 < arguments.count,
            arguments[i + 1] == name
        else { return nil }
        return pid
    }

    /// Whether the lab's supervisor runs.
    public static func isRunning(_ spec: LabSpec) -> Bool {
        supervisorPID(paths: LabPaths(spec.topology), name: spec.name) != nil
    }

    // MARK: Nodes

    /// Adds node `number`: its namespace on the underlay, then the supervisor registers it and starts its kubelet
    /// and agent; returns once it is Ready.
    public static func addNode(name: String, number: Int) async throws {
        try requireRoot()
        guard var spec = try LabSpec.load(name: name), isRunning(spec) else { throw LabControlError.noSuchLab(name) }
        guard (1...LabTopology.maximumNodes).contains(number) else { throw LabError.invalidNodeCount(number) }
        guard !spec.nodes.contains(number) else {
            throw LabControlError.invalid("node-\(number) is already in lab \(name)")
        }
        spec.nodes.append(number)
        try LabNetwork.add(spec.topology.node(number), to: spec.topology)
        try spec.save()
        try signalSupervisor(spec, SIGHUP)
        try await waitForNodes(spec, supervisor: nil, timeout: .seconds(30), progress: { _ in })
    }

    /// Removes node `number`: the supervisor stops its pods, kubelet and agent, deletes the Node object (the other
    /// nodes' agents drop their routes to it) and its namespace; returns once the namespace is gone.
    public static func removeNode(name: String, number: Int) async throws {
        try requireRoot()
        guard var spec = try LabSpec.load(name: name), isRunning(spec) else { throw LabControlError.noSuchLab(name) }
        guard spec.nodes.contains(number) else { throw LabControlError.invalid("lab \(name) has no node-\(number)") }
        spec.nodes.removeAll { $0 == number }
        try spec.save()
        try signalSupervisor(spec, SIGHUP)
        let namespace = NetNS.namedDirectory + "/" + spec.topology.node(number).namespace
        let deadline = ContinuousClock.now + .seconds(30)
        while FileManager.default.fileExists(atPath: namespace) {
            guard ContinuousClock.now < deadline else {
                throw LabControlError.timedOut("node-\(number) was not removed within 30 s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func signalSupervisor(_ spec: LabSpec, _ signal: Int32) throws {
        guard let pid = supervisorPID(paths: LabPaths(spec.topology), name: spec.name) else {
            throw LabControlError.noSuchLab(spec.name)
        }
        kill(pid, signal)
    }

    /// Parses a node argument: `node-3` or `3`.
    public static func nodeNumber(_ text: String) throws -> Int {
        let digits = text.hasPrefix("node-") ? String(text.dropFirst(5)) : text
        guard let number = Int(digits), (1...LabTopology.maximumNodes).contains(number) else {
            throw LabControlError.invalid(
                "invalid node \"\(text)\": lab nodes are node-1 … node-\(LabTopology.maximumNodes)")
        }
        return number
    }

    // MARK: Pods

    /// Where a pod of the lab runs: its namespace, its files, its node.
    public struct PodPlace: Sendable {
        public var pod: Pod
        public var node: LabHost
        public var networkNamespace: String
        /// The pod's directory on its node (resolv.conf, hosts, logs); nil for hostNetwork-less lookups of hosts.
        public var directory: String
    }

    /// Finds pod `namespace/name` of a running lab.
    public static func place(of name: String, namespace: String, in spec: LabSpec) async throws -> PodPlace {
        let paths = LabPaths(spec.topology)
        let client = try KubeClient(configuration: try KubeConfig.load(path: paths.kubeconfig).clientConfiguration())
        defer { Task { try? await client.shutdown() } }
        let pod: Pod
        do {
            pod = try await client.get(Pod.self, name: name, namespace: namespace)
        } catch let error as KubeAPIError where error.httpStatus == 404 {
            throw LabControlError.noSuchPod("pod \(namespace)/\(name) not found in lab \(spec.name)")
        }
        guard let nodeName = pod.spec?.nodeName, let host = spec.hosts.first(where: { $0.name == nodeName }),
            let uid = pod.metadata.uid
        else {
            throw LabControlError.noSuchPod("pod \(namespace)/\(name) is not running on a node yet")
        }
        let networkNamespace =
            pod.spec?.hostNetwork == true ? host.namespace : paths.podNamespace(uid: uid)
        return PodPlace(
            pod: pod, node: host, networkNamespace: NetNS.namedDirectory + "/" + networkNamespace,
            directory: paths.pod(host, uid: uid))
    }
}

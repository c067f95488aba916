import APIServer
import Dispatch
import Foundation
import Glibc
import KubeClient
import KubeModel
import Logging
import Netlink
import Synchronization
import WeftNet

/// The process that is a running lab (`weft lab run`, started in the background by `weft lab up`): the embedded
/// API server on the machine's underlay address, and for each node a Node object, the lab kubelet (in this
/// process) and `weft agent` (a process in the node's namespace, restarted if it exits). SIGHUP re-reads the
/// spec and adds or removes nodes (`weft lab node add|remove`); SIGTERM or SIGINT stops it.
public final class LabSupervisor: Sendable {
    let name: String
    let weftBinary: String
    let cniPlugin: String
    let logger: Logger

    public init(name: String, weftBinary: String, cniPlugin: String) {
        self.name = name
        self.weftBinary = weftBinary
        self.cniPlugin = cniPlugin
        logger = Logger(label: "weft.lab")
    }

    public func run() async throws {
        guard let spec = try LabSpec.load(name: name) else { throw LabControlError.noSuchLab(name) }
        let paths = LabPaths(spec.topology)
        try "\(getpid())\n".write(toFile: paths.pidFile, atomically: true, encoding: .utf8)

        let listen = spec.ipFamily == .ipv6 ? spec.topology.hostAddresses.v6 : spec.topology.hostAddresses.v4
        var configuration = APIServerConfiguration(
            dataDir: paths.data, host: listen.description, port: LabSpec.apiServerPort,
            subjectAlternativeNames: [
                spec.topology.hostAddresses.v4.description, spec.topology.hostAddresses.v6.description,
            ])
        configuration.clusterCIDRs = spec.clusterCIDRs
        configuration.serviceCIDRs = spec.serviceCIDRs
        configuration.gracefulPodDeletion = true
        configuration.advertiseAddress = listen.description
        let server = try APIServer(configuration: configuration)
        let address = try await server.start()
        if let credentials = server.credentials {
            try Self.writeSecret(
                Credentials.kubeconfig(
                    server: address.url, caPEM: server.caCertificatePEM, token: credentials.agentToken,
                    user: "weft-agent"),
                to: paths.agentKubeconfig)
        }
        let client = try KubeClient(configuration: try KubeConfig.load(path: paths.kubeconfig).clientConfiguration())
        logger.notice("lab \(name) API server on \(address.url)")

        let nodes = NodeRunners(
            supervisor: self, client: client, apiServer: (listen.description, address.port))
        await nodes.reconcile(spec)

        let signals = SignalStream([SIGHUP, SIGTERM, SIGINT])
        for await signal in signals.stream {
            if signal == SIGHUP {
                do {
                    if let current = try LabSpec.load(name: name) { await nodes.reconcile(current) }
                } catch {
                    logger.error("cannot re-read the lab's spec: \(error)")
                }
            } else {
                break
            }
        }
        logger.notice("lab \(name) stopping")
        await nodes.stopAll()
        try? await client.shutdown()
        await server.shutdown(gracePeriod: .seconds(1))
        try? FileManager.default.removeItem(atPath: paths.pidFile)
    }

    static func writeSecret(_ text: String, to path: String) throws {
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }
}

/// The running nodes of a lab: for each, its kubelet task and agent process.
actor NodeRunners {
    let supervisor: LabSupervisor
    let client: KubeClient
    let apiServer: (host: String, port: Int)
    private var running: [Int: (kubelet: Task<Void, Never>, agent: AgentProcess)] = [:]

    init(supervisor: LabSupervisor, client: KubeClient, apiServer: (host: String, port: Int)) {
        self.supervisor = supervisor
        self.client = client
        self.apiServer = apiServer
    }

    /// Starts the nodes of `spec` that do not run and removes those that are no longer in it.
    func reconcile(_ spec: LabSpec) async {
        let wanted = Set(spec.nodes)
        for number in running.keys.sorted() where !wanted.contains(number) {
            await remove(number, spec: spec)
        }
        for number in spec.nodes.sorted() where running[number] == nil {
            await add(number, spec: spec)
        }
    }

    private func add(_ number: Int, spec: LabSpec) async {
        let host = spec.topology.node(number)
        let logger = supervisor.logger
        do {
            try Self.routeServices(host, spec: spec)
            try await register(host, spec: spec)
        } catch {
            logger.error("cannot register \(host.name): \(error)")
            return
        }
        let kubelet = LabKubelet(
            spec: spec, host: host, client: client, weftBinary: supervisor.weftBinary,
            cniPlugin: supervisor.cniPlugin, apiServer: apiServer, logger: logger)
        let task = Task {
            do {
                try await kubelet.run()
            } catch {
                logger.error("kubelet of \(host.name) stopped: \(error)")
            }
        }
        let agent = AgentProcess(spec: spec, host: host, weftBinary: supervisor.weftBinary, logger: logger)
        agent.start()
        running[number] = (task, agent)
        logger.notice("\(host.name) started")
    }

    /// Lab nodes have no default route (nothing may leave the machine), but a packet to a cluster IP needs a
    /// route before the service proxy translates it: a node's own processes (hostNetwork pods) are routed before
    /// the nat hook, and a connection to a service without endpoints must reach the forward hook to be rejected.
    /// So each node routes the service ranges towards the machine's underlay address; the proxy's DNAT or reject
    /// happens on the node, so no service packet takes that route.
    static func routeServices(_ host: LabHost, spec: LabSpec) throws {
        let namespace = try NetNS.open(name: host.namespace)
        defer { namespace.close() }
        let socket = try RouteSocket(netns: namespace)
        for cidr in spec.serviceCIDRs.compactMap(IPPrefix.init) {
            let gateway = cidr.family == .v4 ? spec.topology.hostAddresses.v4 : spec.topology.hostAddresses.v6
            do {
                try socket.addRoute(Route(destination: cidr, gateway: gateway, protocolID: Route.protocolStatic))
            } catch let error as NetlinkError where error.isExists {}
        }
    }

    /// Creates the Node object (the API server gives it pod CIDRs; its kubelet marks it Ready).
    private func register(_ host: LabHost, spec: LabSpec) async throws {
        if (try? await client.get(Resources.node, name: host.name)) != nil { return }
        let node: JSONValue = .object([
            "apiVersion": .string("v1"), "kind": .string("Node"),
            "metadata": .object([
                "name": .string(host.name),
                "labels": .object([
                    "kubernetes.io/hostname": .string(host.name), "kubernetes.io/os": .string("linux"),
                    "kubernetes.io/arch": .string(LabKubelet.architecture),
                    "weft.dev/lab": .string(spec.name),
                ]),
            ]),
            "spec": .object([:]),
        ])
        _ = try await client.create(Resources.node, node)
    }

    private func remove(_ number: Int, spec: LabSpec) async {
        guard let entry = running.removeValue(forKey: number) else { return }
        let host = spec.topology.node(number)
        entry.kubelet.cancel()
        await entry.kubelet.value
        await entry.agent.stop()
        do {
            try await client.delete(Resources.node, name: host.name)
            // As kube-controller-manager's pod GC does for pods bound to a node that no longer exists: delete them
            // at once (their workload controllers make new ones elsewhere).
            let orphans = try await client.list(Pod.self, fieldSelector: "spec.nodeName=\(host.name)").items
            for pod in orphans {
                _ = try? await client.delete(
                    Resources.pod, name: pod.metadata.name ?? "", namespace: pod.metadata.namespace,
                    options: .object(["gracePeriodSeconds": .number(0)]))
            }
        } catch {
            supervisor.logger.warning("cannot delete Node \(host.name) and its pods: \(error)")
        }
        for pid in NamespaceProcesses.pids(inNetworkNamespaces: ["/run/netns/" + host.namespace]) {
            kill(pid, SIGKILL)
        }
        try? NetNS.delete(name: host.namespace)
        try? FileManager.default.removeItem(atPath: LabPaths(spec.topology).node(host))
        supervisor.logger.notice("\(host.name) removed")
    }

    func stopAll() async {
        for (_, entry) in running {
            entry.kubelet.cancel()
            await entry.agent.stop()
        }
        for (_, entry) in running { await entry.kubelet.value }
        running = [:]
    }
}

/// `weft agent` in a node's namespace, started again a second after it exits, until stopped.
final class AgentProcess: Sendable {
    let options: SpawnOptions
    let logger: Logger
    private let state = Mutex<(process: ChildProcess?, stopped: Bool, task: Task<Void, Never>?)>((nil, false, nil))

    init(spec: LabSpec, host: LabHost, weftBinary: String, logger: Logger) {
        let paths = LabPaths(spec.topology)
        let metrics = spec.ipFamily == .ipv6 ? "[\(host.addresses.v6)]" : host.addresses.v4.description
        var options = SpawnOptions(
            executable: weftBinary,
            arguments: [
                "agent", "--kubeconfig", paths.agentKubeconfig, "--node-name", host.name, "--overlay",
                spec.overlay.rawValue, "--metrics-address", "\(metrics):\(LabSpec.agentMetricsPort)",
                "--multi-network-socket", paths.multiNetworkSocket(host),
            ] + spec.clusterCIDRs.flatMap { ["--cluster-cidr", $0] }
                + spec.addresses(of: host).flatMap { ["--nodeport-addresses", $0.description] },
            environment: ["PATH": ContainerLaunch.defaultPath])
        options.networkNamespace = "/run/netns/" + host.namespace
        options.stdout = .file(paths.agentLog(host))
        options.stderr = .file(paths.agentLog(host))
        options.newSession = true
        self.options = options
        // The node's directory, for the log (the kubelet fills it later; the agent may start first).
        try? FileManager.default.createDirectory(atPath: paths.node(host), withIntermediateDirectories: true)
        self.logger = logger
    }

    func start() {
        let task = Task {
            while !self.state.withLock({ $0.stopped }) {
                do {
                    let process = try ChildProcess.spawn(self.options)
                    let stopped = self.state.withLock { state in
                        state.process = process
                        return state.stopped
                    }
                    if stopped { process.signal(SIGTERM) }
                    let status = await process.wait()
                    if self.state.withLock({ $0.stopped }) { return }
                    self.logger.warning("weft agent exited (\(status)); starting it again")
                } catch {
                    self.logger.error("cannot start weft agent: \(error)")
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        state.withLock { $0.task = task }
    }

    func stop() async {
        let (process, task) = state.withLock { state in
            state.stopped = true
            return (state.process, state.task)
        }
        process?.signal(SIGTERM)
        await task?.value
    }
}

/// Signals delivered as an async stream (the signals are ignored by the process's default handling meanwhile).
final class SignalStream: Sendable {
    let stream: AsyncStream<Int32>
    /// Kept alive for as long as the stream; only touched in `init`.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }
}

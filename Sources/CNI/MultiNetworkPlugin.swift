import Glibc
import Netlink
import WeftNet

/// `multiNetwork` in weft-cni's configuration: where the agent answers, and how many pods may run their
/// attachments' plugins at once on this host.
///
///     "multiNetwork": {"socket": "/run/weft/multinet.sock", "maxConcurrent": 8}
public struct MultiNetworkConfig: Sendable, Hashable {
    public static let defaultSlotDirectory = "/run/weft/cni-slots"

    /// The agent's unix socket.
    public var socket: String
    /// Pods whose attachments run at once on this host (`ConcurrencySlots`).
    public var maxConcurrent: Int = 8
    /// Where the slot files are.
    public var slotDirectory: String = MultiNetworkConfig.defaultSlotDirectory
    /// Where executed plans are saved (`<stateDir>/multinet` of the network by default).
    public var stateDir: String
    /// Deadline for each exchange with the agent.
    public var timeoutSeconds: Int = 30
    /// How long weft-cni waits for the agent's socket to appear or accept (the agent starting).
    public var connectWaitSeconds: Int = 5

    public init(socket: String, stateDir: String) {
        self.socket = socket
        self.stateDir = stateDir
    }

    /// The section of `config`, or `nil` when it has none (multi-network off).
    public static func parse(_ config: JSONValue) throws -> MultiNetworkConfig? {
        guard let section = config["multiNetwork"], section != .null else { return nil }
        guard case .object(let o) = section else {
            throw CNIError(.invalidConfig, "'multiNetwork' must be an object")
        }
        guard case .string(let socket)? = o["socket"], !socket.isEmpty else {
            throw CNIError(.invalidConfig, "'multiNetwork' needs \"socket\": the agent's unix socket")
        }
        let networkState = config["stateDir"]?.stringValue ?? "/var/lib/cni/weft"
        var c = MultiNetworkConfig(socket: socket, stateDir: networkState + "/multinet")
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = o[key], v != .null else { return nil }
            guard case .number(let n) = v, n.rounded() == n, range.contains(Int(exactly: n) ?? -1) else {
                throw CNIError(.invalidConfig, "'multiNetwork.\(key)' must be an integer in \(range)")
            }
            return Int(n)
        }
        func string(_ key: String) throws -> String? {
            guard let v = o[key], v != .null else { return nil }
            guard case .string(let s) = v, !s.isEmpty else {
                throw CNIError(.invalidConfig, "'multiNetwork.\(key)' must be a non-empty string")
            }
            return s
        }
        if let n = try int("maxConcurrent", 1...1024) { c.maxConcurrent = n }
        if let n = try int("timeoutSeconds", 1...3600) { c.timeoutSeconds = n }
        if let n = try int("connectWaitSeconds", 0...3600) { c.connectWaitSeconds = n }
        if let s = try string("slotDirectory") { c.slotDirectory = s }
        if let s = try string("stateDir") { c.stateDir = s }
        return c
    }
}

/// How weft-cni talks to the agent (`MultiNetworkClient`; tests put a fake in).
public protocol MultiNetworkAgentLink: Sendable {
    func resolve(_ pod: PodReference, clusterInterface: String) throws(MultiNetworkProtocolError) -> ResolveResponse
    func report(_ pod: PodReference, clusterNetwork: String, results: [AttachmentOutcome], error: String?)
        throws(MultiNetworkProtocolError)
}

extension MultiNetworkClient: MultiNetworkAgentLink {}

/// What weft-cni saved after executing a plan: enough for DEL without the agent, the pod or the NADs.
public struct SavedPlan: Sendable, Hashable {
    public var pod: PodReference
    public var plan: AttachmentPlan
    /// Each attachment's ADD result by interface (the `prevResult` of its DEL); empty until the ADD finished.
    public var results: [String: JSONValue]

    public var json: JSONValue {
        .object([
            "pod": .object(pod.jsonFields), "plan": plan.json,
            "results": .object(results),
        ])
    }

    public init(pod: PodReference, plan: AttachmentPlan, results: [String: JSONValue] = [:]) {
        self.pod = pod
        self.plan = plan
        self.results = results
    }

    public init(json: JSONValue) throws(MultiNetworkProtocolError) {
        guard let pod = json["pod"]?.objectValue, let plan = json["plan"] else {
            throw MultiNetworkProtocolError("saved plan lacks pod or plan")
        }
        self.init(
            pod: try PodReference(json: pod), plan: try AttachmentPlan(json: plan),
            results: json["results"]?.objectValue ?? [:])
    }
}

/// Saved plans: `<stateDir>/<containerID>-<ifname>.json` (the cluster network's attachment).
public struct SavedPlanStore: Sendable {
    public let directory: String
    public init(directory: String) { self.directory = directory }

    func path(_ containerID: String, _ ifname: String) -> String { "\(directory)/\(containerID)-\(ifname).json" }

    public func save(_ saved: SavedPlan, containerID: String, ifname: String) throws {
        try FileSystem.makeDirectories(directory, mode: 0o700)
        try FileSystem.writeFile(path(containerID, ifname), saved.json.serialized())
    }

    public func load(containerID: String, ifname: String) throws -> SavedPlan? {
        guard let bytes = FileSystem.readBytes(path(containerID, ifname)) else { return nil }
        do {
            return try SavedPlan(json: try JSONValue(parsing: bytes))
        } catch {
            throw CNIError(.decodeFailure, "saved plan \(path(containerID, ifname)) is unreadable: \(error)")
        }
    }

    public func remove(containerID: String, ifname: String) { FileSystem.remove(path(containerID, ifname)) }

    /// Every saved plan with the attachment it belongs to.
    public func all() -> [(containerID: String, ifname: String, plan: SavedPlan)] {
        FileSystem.listDirectory(directory).filter { $0.hasSuffix(".json") }.compactMap { file in
            guard let bytes = FileSystem.readBytes(directory + "/" + file),
                let value = try? JSONValue(parsing: bytes), let saved = try? SavedPlan(json: value)
            else { return nil }
            return (saved.pod.containerID, saved.plan.clusterInterface, saved)
        }
    }
}

/// weft-cni with secondary networks (issue 9): the cluster network's ADD (`primary`, i.e. `Plugin.run`), then
/// the attachments the agent resolves from the pod's `k8s.v1.cni.cncf.io/networks` annotation, each configuration
/// list run like a runtime runs one (SPEC §3 / §4: `CNI_IFNAME` and `CNI_ARGS` per attachment, `prevResult`
/// chained within a list, DEL in reverse with the ADD's result). Any failure undoes the attachments made and the
/// cluster network (`AttachmentExecutor`) and fails the ADD with the message. The result to the runtime is the
/// cluster network's. Without a `multiNetwork` section it is exactly `primary`.
public struct MultiNetworkPlugin {
    public typealias Primary = (_ environment: [String: String], _ stdin: [UInt8]) -> Plugin.Output

    let primary: Primary
    let makeAgent: (MultiNetworkConfig) -> any MultiNetworkAgentLink
    /// Where diagnostics go (stderr in weft-cni).
    let log: (String) -> Void

    public init(
        primary: @escaping Primary,
        agent: @escaping (MultiNetworkConfig) -> any MultiNetworkAgentLink = {
            MultiNetworkClient(
                socketPath: $0.socket, timeoutSeconds: $0.timeoutSeconds, connectWaitSeconds: $0.connectWaitSeconds)
        },
        log: ((String) -> Void)? = nil
    ) {
        self.primary = primary
        self.makeAgent = agent
        self.log = log ?? { _ = FileSystem.writeAll(2, Array(("weft-cni: " + $0 + "\n").utf8)) }
    }

    public func run(environment: [String: String], stdin: [UInt8]) async -> Plugin.Output {
        let command = CNICommand(rawValue: environment["CNI_COMMAND"] ?? "")
        guard command == .add || command == .del || command == .gc || command == .status,
            let config = try? JSONValue(parsing: stdin), case .object = config
        else { return primary(environment, stdin) }
        let version = config["cniVersion"]?.stringValue ?? CNIVersion.current
        do {
            guard let settings = try MultiNetworkConfig.parse(config) else { return primary(environment, stdin) }
            let env = try CNIEnvironment(environment)
            let run = Run(
                plugin: self, settings: settings, env: env, config: config, stdin: stdin, version: version)
            switch env.command {
            case .add: return try await run.add()
            case .del: return try await run.del()
            case .status: return try run.status()
            default: return try run.gc()
            }
        } catch let e as CNIError {
            return Plugin.Output(
                exitCode: 1, stdout: e.json(cniVersion: version), stderr: Array((e.description + "\n").utf8))
        } catch {
            let e = CNIError(rawCode: 999, msg: "\(error)", details: nil)
            return Plugin.Output(
                exitCode: 1, stdout: e.json(cniVersion: version), stderr: Array((e.description + "\n").utf8))
        }
    }
}

/// One invocation.
private struct Run {
    let plugin: MultiNetworkPlugin
    let settings: MultiNetworkConfig
    let env: CNIEnvironment
    let config: JSONValue
    let stdin: [UInt8]
    let version: String

    var store: SavedPlanStore { SavedPlanStore(directory: settings.stateDir) }
    var slots: ConcurrencySlots {
        ConcurrencySlots(directory: settings.slotDirectory, count: settings.maxConcurrent)
    }
    var networkName: String { config["name"]?.stringValue ?? "" }

    var pod: PodReference? {
        guard let namespace = env.args["K8S_POD_NAMESPACE"], let name = env.args["K8S_POD_NAME"],
            !namespace.isEmpty, !name.isEmpty
        else { return nil }
        return PodReference(
            namespace: namespace, name: name, uid: env.args["K8S_POD_UID"] ?? "", containerID: env.containerID)
    }

    // MARK: ADD

    func add() async throws -> Plugin.Output {
        let primaryOutput = plugin.primary(env.all, stdin)
        guard primaryOutput.exitCode == 0 else { return primaryOutput }
        // Not a Kubernetes pod (no K8S_POD_* arguments): nothing to resolve.
        guard let pod else { return primaryOutput }
        let agent = plugin.makeAgent(settings)
        let plan: AttachmentPlan
        do {
            switch try agent.resolve(pod, clusterInterface: env.ifname) {
            case .noAttachments: return primaryOutput
            case .plan(let p): plan = p
            case .failure(let message):
                try undoPrimary(after: message)
                throw CNIError(.invalidConfig, message)
            case .unavailable(let message):
                try undoPrimary(after: message)
                throw CNIError(.tryAgainLater, message)
            }
        } catch let error as MultiNetworkProtocolError {
            let message = "cannot resolve the pod's networks: \(error)"
            try undoPrimary(after: message)
            throw CNIError(.tryAgainLater, message)
        }
        if plan.attachments.isEmpty { return primaryOutput }
        let primaryResult = (try? JSONValue(parsing: primaryOutput.stdout)) ?? .object([:])

        // Saved before anything runs: a DEL after a crash halfway still finds every attachment.
        let slot: ConcurrencySlots.Slot
        do {
            try store.save(SavedPlan(pod: pod, plan: plan), containerID: env.containerID, ifname: env.ifname)
            slot = try slots.acquire(key: env.containerID)
        } catch {
            store.remove(containerID: env.containerID, ifname: env.ifname)
            try undoPrimary(after: "\(error)")
            throw error
        }
        let outcome: [(step: PlanStep, result: JSONValue)]
        do {
            outcome = try await AttachmentExecutor.add(
                plan,
                add: { step in
                    switch step {
                    case .clusterNetwork: return primaryResult
                    case .attachment(let a):
                        let result = try addList(a)
                        try setDefaultRoutes(a)
                        return result
                    }
                },
                delete: { step in try delete(step, prevResult: nil) })
        } catch {
            slot.release()
            // What the rollback could not remove stays in the saved plan for the runtime's DEL.
            if error.rollbackFailures.isEmpty { store.remove(containerID: env.containerID, ifname: env.ifname) }
            let message = error.description
            do {
                try agent.report(pod, clusterNetwork: networkName, results: [], error: message)
            } catch {
                plugin.log("cannot report the failure to the agent: \(error)")
            }
            throw CNIError(.delegateFailed, message)
        }
        slot.release()
        var results: [String: JSONValue] = [:]
        for (step, result) in outcome { if case .attachment(let a) = step { results[a.ifname] = result } }
        try store.save(
            SavedPlan(pod: pod, plan: plan, results: results), containerID: env.containerID, ifname: env.ifname)
        let outcomes = outcome.map { step, result in
            switch step {
            case .clusterNetwork(let ifname):
                return AttachmentOutcome(attachment: networkName, ifname: ifname, isDefault: true, result: result)
            case .attachment(let a):
                return AttachmentOutcome(attachment: a.attachment, ifname: a.ifname, isDefault: false, result: result)
            }
        }
        do {
            try agent.report(pod, clusterNetwork: networkName, results: outcomes, error: nil)
        } catch {
            plugin.log("cannot report the network status of \(pod.namespace)/\(pod.name) to the agent: \(error)")
        }
        return primaryOutput
    }

    /// The cluster network's DEL after the pod failed before any attachment ran.
    private func undoPrimary(after message: String) throws {
        let out = runPrimary(.del)
        guard out.exitCode == 0 else {
            throw CNIError(
                .delegateFailed, message + "; deleting the cluster network also failed: " + describe(out))
        }
    }

    // MARK: DEL and GC

    func del() async throws -> Plugin.Output {
        guard let saved = try store.load(containerID: env.containerID, ifname: env.ifname) else {
            return plugin.primary(env.all, stdin)
        }
        let slot = try slots.acquire(key: env.containerID)
        defer { slot.release() }
        do {
            try await AttachmentExecutor.delete(saved.plan) { step in
                if case .attachment(let a) = step {
                    try delete(step, prevResult: saved.results[a.ifname])
                } else {
                    try delete(step, prevResult: nil)
                }
            }
        } catch {
            // Kept: the runtime retries a failed DEL, and the plan says what is left.
            throw CNIError(.delegateFailed, error.description)
        }
        store.remove(containerID: env.containerID, ifname: env.ifname)
        return Plugin.Output(exitCode: 0, stdout: [], stderr: [])
    }

    /// GC: the saved plans of attachments the runtime no longer lists are torn down (their attachments; the
    /// cluster network's own GC follows), then the cluster network's GC.
    func gc() throws -> Plugin.Output {
        var valid: Set<String> = []
        for item in config["cni.dev/valid-attachments"]?.arrayValue ?? config["cni.dev/attachments"]?.arrayValue ?? [] {
            if let id = item["containerID"]?.stringValue, let ifname = item["ifname"]?.stringValue {
                valid.insert(id + "/" + ifname)
            }
        }
        var failures: [String] = []
        for (containerID, ifname, saved) in store.all() where !valid.contains(containerID + "/" + ifname) {
            var stale = env.all
            stale["CNI_CONTAINERID"] = containerID
            stale["CNI_NETNS"] = ""
            var ok = true
            for a in saved.plan.attachments.reversed() {
                do {
                    try deleteList(a, prevResult: saved.results[a.ifname], environment: stale)
                } catch {
                    ok = false
                    failures.append("\(a.attachment) (\(a.ifname)) of \(containerID): \(error)")
                }
            }
            if ok { store.remove(containerID: containerID, ifname: ifname) }
        }
        failures += delegateToAttachmentNetworks(.gc)
        let out = plugin.primary(env.all, stdin)
        guard out.exitCode == 0 else {
            failures.append(describe(out))
            throw CNIError(.delegateFailed, "GC failed for " + failures.joined(separator: "; "))
        }
        if !failures.isEmpty { throw CNIError(.delegateFailed, "GC failed for " + failures.joined(separator: "; ")) }
        return out
    }

    /// STATUS: the cluster network's, then that of every attachment network in use; any that is not ready makes
    /// this one not ready (code 50), each named in the message.
    func status() throws -> Plugin.Output {
        let out = plugin.primary(env.all, stdin)
        guard out.exitCode == 0 else { return out }
        let failures = delegateToAttachmentNetworks(.status)
        if !failures.isEmpty {
            throw CNIError(.pluginNotAvailable, "secondary network not available: " + failures.joined(separator: "; "))
        }
        return out
    }

    /// GC and STATUS of the attachment networks in use (SPEC §4 "GC" and "STATUS": per network configuration, no
    /// container): each distinct list among the saved plans whose `cniVersion` has the command (1.1.0 on), every
    /// plugin of it in order; GC is given `cni.dev/valid-attachments`, the attachments of that network the saved
    /// plans still hold (the stale ones were deleted above). Returns what failed.
    private func delegateToAttachmentNetworks(_ command: CNICommand) -> [String] {
        var networks: [String: (step: AttachmentStep, valid: [JSONValue])] = [:]
        for (containerID, _, saved) in store.all() {
            for a in saved.plan.attachments where CNIVersion.atLeast(a.cniVersion, "1.1.0") {
                let attachment: JSONValue = .object([
                    "containerID": .string(containerID), "ifname": .string(a.ifname),
                ])
                networks[a.networkName, default: (a, [])].valid.append(attachment)
            }
        }
        guard !networks.isEmpty else { return [] }
        var e = env.all
        e["CNI_COMMAND"] = command.rawValue
        let delegation: Delegation
        do {
            delegation = Delegation(env: try CNIEnvironment(e))
        } catch {
            return ["\(error)"]
        }
        var failures: [String] = []
        for name in networks.keys.sorted() {
            let (step, valid) = networks[name]!
            for n in step.plugins.indices {
                let type = step.plugins[n]["type"]?.stringValue ?? ""
                var config = step.requestConfig(plugin: n).objectValue ?? [:]
                if command == .gc { config["cni.dev/valid-attachments"] = .array(valid) }
                do {
                    try delegation.run(type, command, config: JSONValue.object(config).serialized())
                } catch {
                    failures.append("\(step.attachment) \(type): \(error)")
                }
            }
        }
        return failures
    }

    private func delete(_ step: PlanStep, prevResult: JSONValue?) throws {
        switch step {
        case .clusterNetwork:
            let out = runPrimary(.del)
            guard out.exitCode == 0 else { throw CNIError(.delegateFailed, describe(out)) }
        case .attachment(let a):
            try deleteList(a, prevResult: prevResult, environment: env.all)
        }
    }

    private func runPrimary(_ command: CNICommand) -> Plugin.Output {
        var e = env.all
        e["CNI_COMMAND"] = command.rawValue
        return plugin.primary(e, stdin)
    }

    private func describe(_ out: Plugin.Output) -> String {
        if let e = try? JSONValue(parsing: out.stdout), let msg = e["msg"]?.stringValue { return msg }
        let text = String(decoding: out.stderr.isEmpty ? out.stdout : out.stderr, as: UTF8.self)
        return text.trimmingWhitespace()
    }

    /// `default-route`: the pod's default route of the gateway's family goes via the attachment instead of the
    /// cluster network (Multus: the other default routes of that family are deleted, one is added via the gateway
    /// on the attachment's interface). Nothing to undo on DEL: the interface and its routes go with it.
    private func setDefaultRoutes(_ a: AttachmentStep) throws {
        guard !a.defaultRoute.isEmpty else { return }
        do {
            let namespace = try NetNS.open(path: env.netns)
            defer { namespace.close() }
            let socket = try RouteSocket(netns: namespace)
            defer { socket.close() }
            guard let link = try socket.link(named: a.ifname) else {
                throw CNIError(.kernel, "interface \(a.ifname) is not in \(env.netns)")
            }
            for gateway in a.defaultRoute {
                for route in try socket.routes(family: gateway.family) where route.destination.length == 0 {
                    try socket.deleteRoute(route)
                }
                let any = IPPrefix(gateway.family == .v4 ? "0.0.0.0/0" : "::/0")!
                try socket.addRoute(Route(destination: any, gateway: gateway, outputIndex: link.index))
            }
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.kernel, "default route via \(a.defaultRoute.map(\.description)) on \(a.ifname): \(error)")
        }
    }

    // MARK: One configuration list

    /// The environment of one attachment: the runtime's, with the attachment's interface and arguments.
    private func environment(for a: AttachmentStep, base: [String: String]) throws -> CNIEnvironment {
        var e = base
        e["CNI_IFNAME"] = a.ifname
        e["CNI_ARGS"] = a.cniArgsString
        return try CNIEnvironment(e)
    }

    /// ADD of each plugin of the list in order, each given the previous one's result; the last result is the
    /// attachment's (SPEC §3 "Adding an attachment").
    private func addList(_ a: AttachmentStep) throws -> JSONValue {
        let delegation = Delegation(env: try environment(for: a, base: env.all))
        var previous: JSONValue?
        for n in a.plugins.indices {
            let type = a.plugins[n]["type"]?.stringValue ?? ""
            let out = try delegation.run(
                type, .add, config: a.requestConfig(plugin: n, prevResult: previous).serialized())
            do {
                previous = try JSONValue(parsing: out)
            } catch {
                throw CNIError(.decodeFailure, "\(type) printed a result that is not JSON: \(error)")
            }
        }
        return previous ?? .object([:])
    }

    /// DEL of each plugin in reverse, each given the ADD's result (SPEC §3 "Deleting an attachment"); every
    /// plugin is called whatever the others do, and all errors are reported.
    private func deleteList(_ a: AttachmentStep, prevResult: JSONValue?, environment base: [String: String]) throws {
        var e = base
        e["CNI_COMMAND"] = CNICommand.del.rawValue
        let delegation = Delegation(env: try environment(for: a, base: e))
        var failures: [String] = []
        for n in a.plugins.indices.reversed() {
            let type = a.plugins[n]["type"]?.stringValue ?? ""
            do {
                try delegation.run(type, .del, config: a.requestConfig(plugin: n, prevResult: prevResult).serialized())
            } catch {
                failures.append("\(error)")
            }
        }
        if !failures.isEmpty { throw CNIError(.delegateFailed, failures.joined(separator: "; ")) }
    }
}

extension Plugin.Output {
    /// An output as a plugin gives it (for callers outside the module, e.g. a fake cluster network in tests).
    public init(status: Int32, stdout: [UInt8], stderr: [UInt8] = []) {
        self.exitCode = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

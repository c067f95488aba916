import Foundation
import Glibc
import KubeClient
import KubeModel
import Logging
import Netlink
import WeftNet

/// One pod on a lab node, from start to removal: its network namespace and CNI attachment, its containers as
/// processes (restarted by `restartPolicy`), their readiness probes, the pod status it writes back, and the
/// graceful stop when the pod is deleted (SIGTERM, SIGKILL after the grace period, CNI DEL, namespace removed,
/// then the API object deleted for good).
actor PodWorker {
    let node: NodeContext
    let uid: String
    private(set) var pod: Pod
    private var records: [ContainerRecord]
    private var processes: [String: ChildProcess] = [:]
    private var probeTasks: [String: Task<Void, Never>] = [:]
    private var containerTasks: [Task<Void, Never>] = []
    private var sandboxReady = false
    private var networkAttached = false
    private var podIPs: [String] = []
    private var sandboxError: String?
    private var rejection: (reason: String, message: String)?
    private let startTime = Date()
    private var termination: Task<Void, Never>?
    private var publishing = false
    private var publishAgain = false
    private var lastPublished: JSONValue?
    /// Called once the pod is stopped and its network removed.
    private let onFinished: @Sendable (String) async -> Void

    init(pod: Pod, node: NodeContext, onFinished: @escaping @Sendable (String) async -> Void) {
        self.pod = pod
        self.node = node
        uid = pod.metadata.uid ?? ""
        records = (pod.spec?.containers ?? []).map { ContainerRecord(name: $0.name, image: $0.image ?? "") }
        self.onFinished = onFinished
    }

    var hostNetwork: Bool { pod.spec?.hostNetwork == true }
    var restartPolicy: RestartPolicy { RestartPolicy(pod.spec?.restartPolicy) }
    var isTerminating: Bool { termination != nil }
    var hostPortClaims: [HostPortClaim] {
        isTerminating || rejection != nil ? [] : HostPortClaim.claims(of: pod)
    }
    private var fullName: String { "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")" }
    private var podDirectory: String { node.paths.pod(node.host, uid: uid) }
    private var networkNamespaceName: String { node.paths.podNamespace(uid: uid) }
    /// Where the pod's processes run.
    private var networkNamespacePath: String {
        hostNetwork ? node.namespacePath : "/run/netns/" + networkNamespaceName
    }

    // MARK: Lifecycle

    /// Refuses the pod (kubelet admission): it fails with `reason` and nothing is started.
    func reject(reason: String, message: String) {
        rejection = (reason, message)
        schedulePublish()
    }

    func start() {
        containerTasks.append(Task { await self.run() })
    }

    /// A newer version of the pod from the API: a deletion mark starts the graceful stop.
    func update(_ newer: Pod) {
        pod = newer
        if newer.metadata.deletionTimestamp != nil {
            terminate(grace: Self.gracePeriod(newer), deleteFromAPI: true)
        }
    }

    /// Stops the pod (also when it is already gone from the API: `deleteFromAPI` false).
    func terminate(grace: Duration, deleteFromAPI: Bool) {
        guard termination == nil else { return }
        termination = Task { await self.stop(grace: grace, deleteFromAPI: deleteFromAPI) }
    }

    /// Waits until a started termination is complete.
    func waitForTermination() async { await termination?.value }

    static func gracePeriod(_ pod: Pod) -> Duration {
        .seconds(
            pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30)
    }

    private func run() async {
        if rejection != nil { return }
        var delay: Duration = .milliseconds(500)
        while !isTerminating {
            do {
                try await setUpSandbox()
                break
            } catch {
                sandboxError = "Failed to create pod sandbox: \(error)"
                node.logger.warning("\(fullName): \(sandboxError ?? "")")
                schedulePublish()
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
        guard !isTerminating else { return }
        sandboxError = nil
        sandboxReady = true
        for (index, container) in (pod.spec?.containers ?? []).enumerated() {
            containerTasks.append(Task { await self.runContainer(index: index, container: container) })
        }
        schedulePublish()
    }

    // MARK: Sandbox

    /// The pod's network: its own namespace wired by the node's CNI network, or the node's for hostNetwork pods.
    private func setUpSandbox() async throws {
        try FileManager.default.createDirectory(atPath: podDirectory, withIntermediateDirectories: true)
        if hostNetwork {
            podIPs = node.hostIPs
        } else {
            if !FileManager.default.fileExists(atPath: networkNamespacePath) {
                let namespace = try NetNS.create(name: networkNamespaceName)
                defer { namespace.close() }
                let socket = try RouteSocket(netns: namespace)
                if let lo = try socket.link(named: "lo") { try socket.setUp(index: lo.index) }
            }
            let result = try await node.cni.add(attachment)
            networkAttached = true
            podIPs = Self.addresses(result)
        }
        let resolv = ContainerLaunch.resolvConf(
            pod: pod, clusterDNS: node.spec.clusterDNS, nodeResolvConf: node.nodeResolvConf)
        try resolv.write(toFile: podDirectory + "/resolv.conf", atomically: true, encoding: .utf8)
        try ContainerLaunch.hostsFile(pod: pod, podIPs: podIPs)
            .write(toFile: podDirectory + "/hosts", atomically: true, encoding: .utf8)
    }

    /// The pod's CNI attachment (container ID = pod UID, interface eth0), with its hostPorts.
    private var attachment: CNIAttachment {
        let mappings: [JSONValue] = (pod.spec?.containers ?? []).flatMap { container in
            (container.ports ?? []).compactMap { port -> JSONValue? in
                guard let hostPort = port.hostPort, hostPort > 0 else { return nil }
                var mapping: [String: JSONValue] = [
                    "hostPort": .number(Double(hostPort)), "containerPort": .number(Double(port.containerPort)),
                    "protocol": .string((port.protocol?.rawValue ?? "TCP").lowercased()),
                ]
                if let hostIP = port.hostIP, !hostIP.isEmpty { mapping["hostIP"] = .string(hostIP) }
                return .object(mapping)
            }
        }
        return CNIAttachment(
            containerID: uid, networkNamespace: networkNamespacePath, ifname: "eth0",
            args: [
                ("IgnoreUnknown", "1"), ("K8S_POD_NAMESPACE", pod.metadata.namespace ?? "default"),
                ("K8S_POD_NAME", pod.metadata.name ?? ""), ("K8S_POD_INFRA_CONTAINER_ID", uid),
                ("K8S_POD_UID", uid),
            ],
            capabilityArgs: mappings.isEmpty ? [:] : ["portMappings": .array(mappings)])
    }

    /// The addresses of a CNI result, IPv4 first (the lab's primary family), without prefix lengths.
    static func addresses(_ result: JSONValue) -> [String] {
        let all = (result["ips"]?.arrayValue ?? []).compactMap { $0["address"]?.stringValue }
            .compactMap { IPPrefix($0)?.address }
        return (all.filter(\.isIPv4) + all.filter { !$0.isIPv4 }).map(\.description)
    }

    /// CNI DEL and the namespace removed; safe to repeat.
    private func tearDownNetwork() async {
        guard !hostNetwork else { return }
        do {
            try await node.cni.delete(attachment)
        } catch {
            node.logger.warning("\(fullName): CNI DEL failed: \(error)")
        }
        networkAttached = false
        try? NetNS.delete(name: networkNamespaceName)
    }

    // MARK: Containers

    private func runContainer(index: Int, container: Container) async {
        var backoff = RestartBackoff()
        let probe: ReadinessProbe?
        switch ReadinessProbe.parse(container.readinessProbe, container: container) {
        case .success(let parsed): probe = parsed
        case .failure(let error):
            records[index].state = .waiting(reason: "CreateContainerConfigError", message: error.description)
            schedulePublish()
            return
        }
        while !isTerminating {
            let facts = ContainerLaunch.PodFacts(podIPs: podIPs, hostIPs: node.hostIPs, apiServer: node.apiServer)
            let launch: ContainerLaunch
            switch ContainerLaunch.make(pod: pod, container: container, facts: facts, weftBinary: node.weftBinary) {
            case .success(let made): launch = made
            case .failure(let error):
                records[index].state = .waiting(reason: "CreateContainerConfigError", message: error.description)
                schedulePublish()
                return
            }
            let started = Date()
            let clock = ContinuousClock.now
            let exit: (code: Int32, reason: String, message: String?)
            do {
                let process = try ChildProcess.spawn(spawnOptions(launch, container: container))
                processes[container.name] = process
                records[index].state = .running(startedAt: started)
                records[index].pid = process.pid
                records[index].ready = probe == nil
                if let probe { startProbe(probe, index: index, container: container, launch: launch) }
                schedulePublish()
                let status = await process.wait()
                processes[container.name] = nil
                probeTasks.removeValue(forKey: container.name)?.cancel()
                exit = (status.code, status == .exited(0) ? "Completed" : "Error", nil)
            } catch {
                exit = (128, "StartError", "\(error)")
            }
            records[index].pid = nil
            records[index].ready = false
            let terminated = ContainerRecord.State.terminated(
                exitCode: exit.code, reason: exit.reason, message: exit.message, startedAt: started,
                finishedAt: Date())
            if isTerminating {
                records[index].state = terminated
                return
            }
            guard restartPolicy.restarts(exitCode: exit.code) else {
                records[index].state = terminated
                records[index].finished = true
                schedulePublish()
                if records.allSatisfy(\.finished) { await tearDownNetwork() }
                return
            }
            let delay = backoff.delay(afterRunning: ContinuousClock.now - clock)
            records[index].lastState = terminated
            records[index].restartCount += 1
            records[index].state = .waiting(
                reason: exit.reason == "StartError" ? "RunContainerError" : "CrashLoopBackOff",
                message: "back-off \(delay.components.seconds)s restarting failed container=\(container.name) "
                    + "pod=\(pod.metadata.name ?? "")_\(pod.metadata.namespace ?? "default")(\(uid))"
                    + (exit.message.map { ": " + $0 } ?? ""))
            schedulePublish()
            try? await Task.sleep(for: delay)
        }
    }

    private func spawnOptions(_ launch: ContainerLaunch, container: Container) -> SpawnOptions {
        let log = node.paths.containerLog(node.host, uid: uid, container: container.name)
        var options = SpawnOptions(
            executable: launch.executable, arguments: launch.arguments, environment: launch.environment)
        options.networkNamespace = networkNamespacePath
        options.resolvConf = podDirectory + "/resolv.conf"
        options.hostsFile = podDirectory + "/hosts"
        options.hostname = hostNetwork ? node.host.name : (pod.spec?.hostname ?? pod.metadata.name)
        options.workingDirectory = container.workingDir
        options.stdout = .file(log)
        options.stderr = .file(log)
        options.newSession = true
        return options
    }

    // MARK: Readiness

    private func startProbe(_ probe: ReadinessProbe, index: Int, container: Container, launch: ContainerLaunch) {
        probeTasks[container.name]?.cancel()
        probeTasks[container.name] = Task {
            var tracker = ReadinessTracker(
                successThreshold: probe.successThreshold, failureThreshold: probe.failureThreshold)
            try? await Task.sleep(for: probe.initialDelay)
            while !Task.isCancelled {
                let success = await self.runProbe(probe, launch: launch)
                if Task.isCancelled { return }
                if tracker.record(success: success) { self.setReady(index: index, tracker.ready) }
                try? await Task.sleep(for: probe.period)
            }
        }
    }

    private func setReady(index: Int, _ ready: Bool) {
        guard records[index].isRunning else { return }
        records[index].ready = ready
        schedulePublish()
    }

    /// One probe: tcp and http run `weft probe` in the node's namespace against the pod's first address (as the
    /// kubelet probes from the node); exec runs the command in the pod with the container's environment.
    private func runProbe(_ probe: ReadinessProbe, launch: ContainerLaunch) async -> Bool {
        var options: SpawnOptions
        if let address = podIPs.first, let arguments = probe.probeArguments(address: address) {
            options = SpawnOptions(executable: node.weftBinary, arguments: arguments, environment: [:])
            options.networkNamespace = node.namespacePath
        } else if case .exec(let command) = probe.action {
            options = SpawnOptions(
                executable: command[0] == ContainerLaunch.weftCommand ? node.weftBinary : command[0],
                arguments: Array(command.dropFirst()), environment: launch.environment)
            options.networkNamespace = networkNamespacePath
            options.resolvConf = podDirectory + "/resolv.conf"
            options.hostsFile = podDirectory + "/hosts"
        } else {
            return false
        }
        guard let process = try? ChildProcess.spawn(options) else { return false }
        let timeout = probe.timeout + .seconds(1)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { process.signal(SIGKILL) }
        }
        let status = await process.wait()
        timer.cancel()
        return status == .exited(0)
    }

    // MARK: Stopping

    private func stop(grace: Duration, deleteFromAPI: Bool) async {
        for task in probeTasks.values { task.cancel() }
        probeTasks = [:]
        let running = Array(processes.values)
        for process in running {
            kill(-process.pid, SIGTERM)
            process.signal(SIGTERM)
        }
        let deadline = ContinuousClock.now + grace
        for process in running {
            let exited = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    _ = await process.wait()
                    return true
                }
                group.addTask {
                    try? await Task.sleep(until: deadline)
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !exited {
                kill(-process.pid, SIGKILL)
                process.signal(SIGKILL)
                _ = await process.wait()
            }
            // Whatever the container left in its process group goes too.
            kill(-process.pid, SIGKILL)
        }
        for task in containerTasks { await task.value }
        await tearDownNetwork()
        try? FileManager.default.removeItem(atPath: podDirectory)
        if deleteFromAPI {
            let options: JSONValue = .object([
                "gracePeriodSeconds": .number(0), "preconditions": .object(["uid": .string(uid)]),
            ])
            do {
                try await node.client.delete(
                    Resources.pod, name: pod.metadata.name ?? "", namespace: pod.metadata.namespace,
                    options: options)
            } catch let error as KubeAPIError where error.httpStatus == 404 || error.httpStatus == 409 {
            } catch {
                node.logger.warning("\(fullName): final delete failed: \(error)")
            }
        }
        await onFinished(uid)
    }

    // MARK: Status

    /// Writes the pod's status soon; writes coalesce, and an unchanged status is not written.
    private func schedulePublish() {
        guard !publishing else {
            publishAgain = true
            return
        }
        publishing = true
        Task { await self.publishLoop() }
    }

    private func publishLoop() async {
        repeat {
            publishAgain = false
            if isTerminating && pod.metadata.deletionTimestamp == nil { break }
            var builder = PodStatusBuilder(
                podIPs: podIPs, hostIPs: node.hostIPs, startTime: startTime, sandboxReady: sandboxReady,
                containers: records, restartPolicy: restartPolicy)
            builder.rejection = rejection
            builder.sandboxError = sandboxError
            let previous = lastPublished ?? pod.status.flatMap { try? JSONValue(encoding: $0) }
            let status = builder.status(previous: previous)
            guard status != lastPublished else { continue }
            do {
                _ = try await node.client.patch(
                    Resources.pod, name: pod.metadata.name ?? "", namespace: pod.metadata.namespace, type: .merge,
                    body: .object(["status": status]), subresource: "status")
                lastPublished = status
            } catch let error as KubeAPIError where error.httpStatus == 404 {
                break
            } catch {
                node.logger.warning("\(fullName): status update failed: \(error)")
                try? await Task.sleep(for: .milliseconds(500))
                publishAgain = true
            }
        } while publishAgain
        publishing = false
    }
}

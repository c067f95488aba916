import Foundation
import KubeClient
import KubeModel
import Logging
import ServiceLifecycle
import WeftNet

/// The lab's kubelet for one node: registers the node's CNI network, reports the node Ready, watches the pods
/// bound to it (`spec.nodeName`) and runs each through a `PodWorker`. It calls `weft-cni` exactly as a container
/// runtime does (conflist from the node's CNI config directory, `CNI_PATH`, result cache, DEL on removal, GC of
/// leftovers once the pods are known).
public final class LabKubelet: ServiceLifecycle.Service, Sendable {
    let spec: LabSpec
    let host: LabHost
    let paths: LabPaths
    let client: KubeClient
    let weftBinary: String
    let cniPlugin: String
    let apiServer: (host: String, port: Int)?
    let logger: Logger
    private let workers = PodWorkers()

    /// Where the reference CNI plugins are installed (Debian's `containernetworking-plugins`, and the usual path).
    public static let referencePluginDirectories = ["/usr/lib/cni", "/opt/cni/bin"]

    /// - Parameters:
    ///   - weftBinary: the lab's `weft` executable.
    ///   - cniPlugin: the `weft-cni` executable.
    public init(
        spec: LabSpec, host: LabHost, client: KubeClient, weftBinary: String, cniPlugin: String,
        apiServer: (host: String, port: Int)?, logger: Logger
    ) {
        self.spec = spec
        self.host = host
        paths = LabPaths(spec.topology)
        self.client = client
        self.weftBinary = weftBinary
        self.cniPlugin = cniPlugin
        self.apiServer = apiServer
        var logger = logger
        logger[metadataKey: "node"] = "\(host.name)"
        self.logger = logger
    }

    public func run() async throws {
        let nodeObject = try await waitForNode()
        let cni = try prepareCNI(podCIDRs: nodeObject.spec?.podCIDRs ?? [])
        let context = NodeContext(
            spec: spec, host: host, paths: paths, client: client, cni: cni, weftBinary: weftBinary, logger: logger,
            hostIPs: spec.addresses(of: host).map(\.description), apiServer: apiServer,
            nodeResolvConf: (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? "")
        try await reportReady()

        // CNI GC before any pod worker runs (the spec forbids ADD or DEL during GC): what the cache holds for pods
        // that no longer exist is deleted; the pods bound here now are kept, their workers start next.
        let selector = "spec.nodeName=\(host.name)"
        let current = try await client.list(Pod.self, fieldSelector: selector).items
        let valid = current.filter { $0.spec?.hostNetwork != true }.compactMap(\.metadata.uid)
            .map { CNIAttachment(containerID: $0, networkNamespace: "", ifname: "eth0") }
        do {
            try await cni.garbageCollect(valid: valid)
        } catch {
            logger.warning("CNI GC failed: \(error)")
        }

        let informer = Informer<Pod>(client: client, options: .init(fieldSelector: selector))
        let workers = self.workers
        informer.onAdd { pod in await workers.sync(pod, context: context) }
        informer.onUpdate { _, pod in await workers.sync(pod, context: context) }
        informer.onDelete { pod in await workers.deleted(pod) }
        // Until cancelled (the supervisor stops the node, or the lab): then every pod of the node stops.
        try? await informer.run()
        await workers.stopAll()
    }

    /// The Node object (the supervisor creates it; the API server gives it pod CIDRs).
    private func waitForNode() async throws -> Node {
        while true {
            if let node = try? await client.get(Node.self, name: host.name), node.spec?.podCIDRs?.isEmpty == false {
                return node
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Writes the node's CNI network (a weft-cni bridge over the node's pod CIDRs) and plugin directory.
    private func prepareCNI(podCIDRs: [String]) throws -> CNIRuntime {
        let files = FileManager.default
        for directory in [
            paths.cniConfigDirectory(host), paths.cniBinDirectory(host), paths.cniCacheDirectory(host),
            paths.cniStateDirectory(host), paths.ipamDirectory(host), paths.node(host) + "/pods",
        ] {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for name in ["weft-cni", "weft-ipam"] {
            let link = paths.cniBinDirectory(host) + "/" + name
            try? files.removeItem(atPath: link)
            try files.createSymbolicLink(atPath: link, withDestinationPath: cniPlugin)
        }
        let config = Self.networkConfig(
            spec: spec, podCIDRs: podCIDRs, stateDirectory: paths.cniStateDirectory(host),
            ipamDirectory: paths.ipamDirectory(host),
            multiNetwork: (socket: paths.multiNetworkSocket(host), slotDirectory: paths.cniSlotDirectory(host)))
        try Data(config.serialized()).write(
            to: URL(fileURLWithPath: paths.cniConfigDirectory(host) + "/10-weft.conflist"))
        let namespace = "/run/netns/" + host.namespace
        return CNIRuntime(
            configDirectory: paths.cniConfigDirectory(host),
            pluginDirectories: [paths.cniBinDirectory(host)] + Self.referencePluginDirectories,
            cacheDirectory: paths.cniCacheDirectory(host),
            execute: { call in
                var options = SpawnOptions(
                    executable: call.path, arguments: [], environment: call.environment)
                options.networkNamespace = namespace
                let result = try await ChildProcess.run(options, input: call.stdin)
                return CNIPluginOutput(exitStatus: result.exitStatus, stdout: result.stdout, stderr: result.stderr)
            })
    }

    /// The node's CNI network list: weft-cni in ptp mode (each pod a routed veth, no bridge: the bridge cost about
    /// a tenth of the cross-node pod throughput, bench/README.md), pods' default route via the node, masquerade
    /// only for traffic leaving the cluster's pod ranges, hostPorts, and for vxlan an MTU that leaves room for
    /// the 50-byte VXLAN header on the 1500-byte underlay. With `multiNetwork`, weft-cni asks the node's agent on
    /// that socket for the pod's secondary networks (issue 9) and queues on that slot directory, 8 pods at once.
    static func networkConfig(
        spec: LabSpec, podCIDRs: [String], stateDirectory: String, ipamDirectory: String,
        multiNetwork: (socket: String, slotDirectory: String)? = nil
    ) -> JSONValue {
        let ranges: [JSONValue] = podCIDRs.map { .array([.object(["subnet": .string($0)])]) }
        var plugin: [String: JSONValue] = [
            "type": .string("weft-cni"), "mode": .string("ptp"), "isDefaultGateway": .bool(true),
            "ipMasq": .bool(true), "nonMasqueradeCIDRs": .array(spec.clusterCIDRs.map { .string($0) }),
            "mtu": .number(spec.overlay == .vxlan ? 1450 : 1500),
            "stateDir": .string(stateDirectory), "capabilities": .object(["portMappings": .bool(true)]),
            "ipam": .object([
                "type": .string("weft-ipam"), "dataDir": .string(ipamDirectory), "ranges": .array(ranges),
            ]),
        ]
        if let multiNetwork {
            plugin["multiNetwork"] = .object([
                "socket": .string(multiNetwork.socket), "slotDirectory": .string(multiNetwork.slotDirectory),
                "maxConcurrent": .number(8),
            ])
        }
        return .object([
            "cniVersion": .string("1.1.0"), "name": .string("weft"), "plugins": .array([.object(plugin)]),
        ])
    }

    /// Marks the node Ready with its addresses, as a kubelet's status update does.
    private func reportReady() async throws {
        let now = PodStatusBuilder.timestamp(Date())
        var addresses: [JSONValue] = spec.addresses(of: host).map {
            .object(["type": .string("InternalIP"), "address": .string($0.description)])
        }
        addresses.append(.object(["type": .string("Hostname"), "address": .string(host.name)]))
        let status: JSONValue = .object([
            "addresses": .array(addresses),
            "conditions": .array([
                .object([
                    "type": .string("Ready"), "status": .string("True"), "reason": .string("KubeletReady"),
                    "message": .string("weft lab kubelet is posting ready status"),
                    "lastHeartbeatTime": .string(now), "lastTransitionTime": .string(now),
                ])
            ]),
            "nodeInfo": .object([
                "kubeletVersion": .string("v1.32.0-weft-lab"), "containerRuntimeVersion": .string("weft-lab://0.1"),
                "operatingSystem": .string("linux"), "architecture": .string(Self.architecture),
                "osImage": .string("weft lab"), "kernelVersion": .string(Self.kernelVersion),
            ]),
        ])
        _ = try await client.patch(
            Resources.node, name: host.name, type: .merge, body: .object(["status": status]), subresource: "status")
    }

    static var architecture: String {
        #if arch(x86_64)
            "amd64"
        #elseif arch(arm64)
            "arm64"
        #else
            "unknown"
        #endif
    }

    static var kernelVersion: String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The pod workers of one node, by pod UID, with the kubelet's admission check for hostPort conflicts.
actor PodWorkers {
    private var workers: [String: PodWorker] = [:]

    func sync(_ pod: Pod, context: NodeContext) async {
        guard let uid = pod.metadata.uid else { return }
        if let worker = workers[uid] {
            await worker.update(pod)
            return
        }
        if pod.metadata.deletionTimestamp != nil {
            // Marked while no worker ran it (a kubelet restart): nothing of it runs here, so it can go.
            let worker = PodWorker(
                pod: pod, node: context, onFinished: { [weak self] uid in await self?.finished(uid) })
            workers[uid] = worker
            await worker.terminate(grace: .zero, deleteFromAPI: true)
            return
        }
        if ["Succeeded", "Failed"].contains(pod.status?.phase ?? "") { return }
        let worker = PodWorker(pod: pod, node: context, onFinished: { [weak self] uid in await self?.finished(uid) })
        workers[uid] = worker
        let claims = HostPortClaim.claims(of: pod)
        if !claims.isEmpty {
            for (otherUID, other) in workers where otherUID != uid {
                let otherClaims = await other.hostPortClaims
                if let clash = claims.first(where: { claim in otherClaims.contains { $0.conflicts(with: claim) } }) {
                    let otherPod = await other.pod
                    await worker.reject(
                        reason: "NodePorts",
                        message: "Pod was rejected: node(s) didn't have free ports for the requested pod ports "
                            + "(\(clash) is used by \(otherPod.metadata.namespace ?? "default")/"
                            + "\(otherPod.metadata.name ?? ""))")
                    return
                }
            }
        }
        await worker.start()
    }

    func deleted(_ pod: Pod) async {
        guard let uid = pod.metadata.uid, let worker = workers[uid] else { return }
        await worker.terminate(grace: PodWorker.gracePeriod(pod), deleteFromAPI: false)
    }

    private func finished(_ uid: String) {
        workers[uid] = nil
    }

    /// Stops every pod (the node is going away).
    func stopAll() async {
        let all = Array(workers.values)
        for worker in all { await worker.terminate(grace: .seconds(2), deleteFromAPI: false) }
        for worker in all { await worker.waitForTermination() }
    }
}

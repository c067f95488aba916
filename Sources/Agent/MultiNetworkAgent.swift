import CNI
import Foundation
import KubeClient
import KubeModel
import Logging
import MultiNetwork
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import WeftNet

/// The agent's side of secondary networks (issue 9): resolves a pod's `k8s.v1.cni.cncf.io/networks` annotation
/// into an `AttachmentPlan` for weft-cni, and turns what weft-cni reports into the pod's network-status
/// annotation or, on failure, a Warning Event. NetworkAttachmentDefinitions come from an informer's store, with
/// a GET when the store lacks one (a NAD created just before the pod); the pod is always read with a GET, since
/// weft-cni asks moments after the pod was bound and an informer may not have it yet, and one GET per sandbox is
/// cheaper than keeping every pod of the node.
public final class MultiNetworkResolver: Sendable {
    let client: KubeClient
    let definitions: Store<NetworkAttachmentDefinition>?
    let resolver: AttachmentResolver
    let nodeName: String
    let logger: Logger
    /// Events already recorded, by pod UID and message: a repeat bumps `count` instead of adding an object.
    private let events = Mutex<[String: (name: String, count: Int)]>([:])

    public static let component = "weft-agent"
    public static let failureReason = "FailedCreatePodSandBox"

    public init(
        client: KubeClient, definitions: Store<NetworkAttachmentDefinition>?,
        policy: CrossNamespacePolicy = .allowAll, nodeName: String, logger: Logger
    ) {
        self.client = client
        self.definitions = definitions
        self.resolver = AttachmentResolver(policy: policy)
        self.nodeName = nodeName
        self.logger = logger
    }

    /// One request's answer.
    public func handle(_ request: JSONValue) async -> JSONValue {
        let parsed: MultiNetworkRequest
        do {
            parsed = try MultiNetworkRequest(json: request)
        } catch {
            return .object(["ok": .bool(false), "error": .string(error.description)])
        }
        switch parsed {
        case .resolve(let pod, let ifname):
            return await resolve(pod, clusterInterface: ifname).json
        case .status(let pod, let cluster, let results, let error):
            do {
                try await report(pod, clusterNetwork: cluster, results: results, error: error)
                return .object(["ok": .bool(true)])
            } catch {
                return .object(["ok": .bool(false), "error": .string("\(error)")])
            }
        }
    }

    /// The plan for `pod`, `.noAttachments`, or why it cannot be made (also recorded as an Event).
    public func resolve(_ ref: PodReference, clusterInterface: String) async -> ResolveResponse {
        let pod: Pod
        do {
            pod = try await client.get(Pod.self, name: ref.name, namespace: ref.namespace)
        } catch {
            return .unavailable("cannot read pod \(ref.namespace)/\(ref.name): \(error)")
        }
        if !ref.uid.isEmpty, let uid = pod.metadata.uid, uid != ref.uid {
            return .failure("pod \(ref.namespace)/\(ref.name) has UID \(uid), not \(ref.uid): it was recreated")
        }
        do {
            let selections = try NetworkSelection.parse(pod: pod)
            if selections.isEmpty { return .noAttachments }
            // The NADs this pod may use, read before resolving (the resolver's lookup is synchronous).
            var found: [String: NetworkAttachmentDefinition] = [:]
            for s in selections {
                let namespace = s.namespace ?? ref.namespace
                guard resolver.policy.permits(podNamespace: ref.namespace, attachmentNamespace: namespace) else {
                    continue
                }
                if let nad = try await definition(namespace: namespace, name: s.name) {
                    found["\(namespace)/\(s.name)"] = nad
                }
            }
            let resolved = try resolver.resolve(selections, podNamespace: ref.namespace) { found["\($0)/\($1)"] }
            let identity = PodIdentity(
                namespace: ref.namespace, name: ref.name, uid: pod.metadata.uid ?? ref.uid,
                sandboxID: ref.containerID)
            let plan = try AttachmentPlan(resolved, pod: identity, clusterInterface: clusterInterface)
            return .plan(plan)
        } catch let error as MultiNetworkError {
            let message = error.description
            await recordFailure(pod: pod, message: message)
            return .failure(message)
        } catch {
            return .unavailable("cannot resolve the networks of pod \(ref.namespace)/\(ref.name): \(error)")
        }
    }

    /// The store's NAD, else the API's (`nil` when it does not exist).
    func definition(namespace: String, name: String) async throws -> NetworkAttachmentDefinition? {
        if let nad = definitions?.get(namespace: namespace, name: name) { return nad }
        do {
            return try await client.get(NetworkAttachmentDefinition.self, name: name, namespace: namespace)
        } catch let error as KubeAPIError where error.isNotFound {
            return nil
        }
    }

    /// Writes the network-status annotation from `results` (cluster network first), or records `error`.
    public func report(_ ref: PodReference, clusterNetwork: String, results: [AttachmentOutcome], error: String?)
        async throws
    {
        if let error {
            let pod = try await client.get(Pod.self, name: ref.name, namespace: ref.namespace)
            await recordFailure(pod: pod, message: error)
            return
        }
        let statuses = results.map { outcome in
            if let result = try? CNIResult.parse(outcome.result) {
                return NetworkStatus(
                    name: outcome.attachment, ifname: outcome.ifname, result: result, isDefault: outcome.isDefault)
            }
            return NetworkStatus(name: outcome.attachment, interface: outcome.ifname, isDefault: outcome.isDefault)
        }
        let value = NetworkStatus.annotationValue(statuses)
        var metadata: [String: JSONValue] = ["annotations": .object([NetworkStatus.annotation: .string(value)])]
        // Guards against writing a recreated pod's annotation from the old sandbox's ADD.
        if !ref.uid.isEmpty { metadata["uid"] = .string(ref.uid) }
        _ = try await client.patch(
            Resources.pod, name: ref.name, namespace: ref.namespace, type: .merge,
            body: .object(["metadata": .object(metadata)]))
    }

    /// A Warning Event on the pod; the same message again for the same pod counts up the first one.
    func recordFailure(pod: Pod, message: String) async {
        let namespace = pod.metadata.namespace ?? "default"
        let name = pod.metadata.name ?? ""
        let key = (pod.metadata.uid ?? name) + "\n" + message
        let now = Self.timestamp(Date())
        let existing = events.withLock { events -> (name: String, count: Int)? in
            guard var entry = events[key] else { return nil }
            entry.count += 1
            events[key] = entry
            return entry
        }
        do {
            if let existing {
                _ = try await client.patch(
                    Resources.event, name: existing.name, namespace: namespace, type: .merge,
                    body: .object(["count": .number(Double(existing.count)), "lastTimestamp": .string(now)]))
                return
            }
            let eventName = "\(name).\(String(UInt64(Date().timeIntervalSince1970 * 1e9), radix: 16))"
            var reference = ObjectReference(kind: "Pod", namespace: namespace, name: name, uid: pod.metadata.uid)
            reference.apiVersion = "v1"
            var event = Event(
                metadata: ObjectMeta(name: eventName, namespace: namespace), involvedObject: reference,
                reason: Self.failureReason, message: message, type: "Warning", component: Self.component)
            event.source = EventSource(component: Self.component, host: nodeName)
            event.reportingInstance = nodeName
            event.firstTimestamp = now
            event.lastTimestamp = now
            event.count = 1
            _ = try await client.create(event)
            events.withLock { events in
                // Bounded: past 1,000 pods' failures the oldest counts are forgotten (a repeat then adds an Event).
                if events.count >= 1000 { events.removeAll() }
                events[key] = (eventName, 1)
            }
        } catch {
            logger.warning("cannot record an event for pod \(namespace)/\(name): \(error)")
        }
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// `weft agent`'s multi-network service: the NetworkAttachmentDefinition informer and the unix socket weft-cni
/// asks (`MultiNetworkProtocol` in CNI: one JSON line each way per connection).
public final class MultiNetworkServer: ServiceLifecycle.Service, Sendable {
    let socketPath: String
    let resolver: MultiNetworkResolver
    let informer: Informer<NetworkAttachmentDefinition>?
    let logger: Logger
    let onListening: @Sendable () -> Void

    public init(
        socketPath: String, resolver: MultiNetworkResolver, informer: Informer<NetworkAttachmentDefinition>?,
        logger: Logger, onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.socketPath = socketPath
        self.resolver = resolver
        self.informer = informer
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let directory = (socketPath as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        chmod(socketPath, 0o600)
        logger.notice("multi-network socket listening", metadata: ["socket": "\(socketPath)"])
        onListening()
        let resolver = self.resolver
        let logger = self.logger
        let informer = self.informer
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                if let informer {
                    group.addTask {
                        // Retries with backoff inside; ends when cancelled.
                        try? await informer.run()
                    }
                }
                do {
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await Self.serve(connection, resolver: resolver, logger: logger) }
                        }
                    }
                } catch {
                    if !Task.isCancelled { logger.error("multi-network socket failed: \(error)") }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        unlink(socketPath)
    }

    /// Reads one line, answers it, closes.
    static func serve(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, resolver: MultiNetworkResolver, logger: Logger
    ) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request: [UInt8] = []
                for try await chunk in inbound {
                    request += chunk.readableBytesView
                    if request.contains(UInt8(ascii: "\n")) { break }
                    if request.count > 1 << 24 { break }
                }
                let line = request.prefix { $0 != UInt8(ascii: "\n") }
                let answer: JSONValue
                do {
                    answer = await resolver.handle(try JSONValue(parsing: line))
                } catch {
                    answer = .object(["ok": .bool(false), "error": .string("the request is not JSON: \(error)")])
                }
                try await outbound.write(ByteBuffer(bytes: answer.serialized() + [UInt8(ascii: "\n")]))
            }
        } catch {
            logger.warning("multi-network request failed: \(error)")
        }
    }
}

import KubeClient
import KubeModel
import Logging
import ServiceLifecycle
import ServiceProxy

/// The service-proxy half of `weft agent`: watches Services and EndpointSlices and has the `ProxySyncer` program
/// this node's `inet weft-proxy` table. Syncs are rate-limited (changes that arrive within `minimumInterval`
/// of the last sync go together into the next one) and retried after a failure as a full sync.
public final class ServiceProxyAgent: ServiceLifecycle.Service {
    private let client: KubeClient
    private let syncer: ProxySyncer
    private let minimumInterval: Duration
    private let retryInterval: Duration
    private let logger: Logger

    public init(
        client: KubeClient, syncer: ProxySyncer, minimumInterval: Duration = .milliseconds(50),
        retryInterval: Duration = .seconds(1), logger: Logger = Logger(label: "weft.agent.proxy")
    ) {
        self.client = client
        self.syncer = syncer
        self.minimumInterval = minimumInterval
        self.retryInterval = retryInterval
        self.logger = logger
    }

    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let syncer = self.syncer
        let services = Self.informer(
            client, set: { (service: KubeModel.Service) in await syncer.set(service) },
            remove: { (service: KubeModel.Service) in await syncer.remove(service) }, changed: { trigger.yield() })
        let slices = Self.informer(
            client, set: { (slice: EndpointSlice) in await syncer.set(slice) },
            remove: { (slice: EndpointSlice) in await syncer.remove(slice) }, changed: { trigger.yield() })
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await services.run() }
                group.addTask { try await slices.run() }
                try await services.waitForSync()
                try await slices.waitForSync()
                trigger.yield()
                for await _ in triggers {
                    await self.syncUntilDone()
                    try await Task.sleep(for: self.minimumInterval)
                }
            }
        }
    }

    /// An informer whose adds and updates go to `set` and deletes to `remove`, each followed by `changed`.
    private static func informer<T: KubeObject>(
        _ client: KubeClient, set: @escaping @Sendable (T) async -> Void,
        remove: @escaping @Sendable (T) async -> Void, changed: @escaping @Sendable () -> Void
    ) -> Informer<T> {
        let informer = Informer<T>(client: client)
        informer.addHandlers(
            Informer<T>.Handlers(
                onAdd: {
                    await set($0); changed()
                },
                onUpdate: { _, new in
                    await set(new); changed()
                },
                onDelete: {
                    await remove($0); changed()
                }))
        return informer
    }

    /// One sync, retried (as a full sync) until it succeeds or the task is cancelled.
    private func syncUntilDone() async {
        while !Task.isCancelled {
            do {
                let report = try await syncer.sync()
                for skipped in report.skipped { logger.warning("service skipped: \(skipped)") }
                if report.operations > 0 {
                    logger.debug(
                        "synced services",
                        metadata: [
                            "full": "\(report.full)", "services": "\(report.services)",
                            "operations": "\(report.operations)",
                        ])
                }
                return
            } catch {
                logger.error("service sync failed, retrying as a full sync: \(error)")
                try? await Task.sleep(for: retryInterval)
            }
        }
    }
}

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
        let services = Informer<KubeModel.Service>(client: client)
        let slices = Informer<EndpointSlice>(client: client)
        let syncer = self.syncer
        services.addHandlers(
            Informer<KubeModel.Service>.Handlers(
                onAdd: {
                    await syncer.set($0); trigger.yield()
                },
                onUpdate: { _, new in
                    await syncer.set(new); trigger.yield()
                },
                onDelete: {
                    await syncer.remove($0); trigger.yield()
                }))
        slices.addHandlers(
            Informer<EndpointSlice>.Handlers(
                onAdd: {
                    await syncer.set($0); trigger.yield()
                },
                onUpdate: { _, new in
                    await syncer.set(new); trigger.yield()
                },
                onDelete: {
                    await syncer.remove($0); trigger.yield()
                }))
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

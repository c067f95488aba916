import KubeClient
import KubeModel
import Logging
import ServiceLifecycle
import ServiceProxy

/// The service-proxy half of `weft agent`: watches Services and EndpointSlices and has the `ProxySyncer` program
/// this node's `inet weft-proxy` table. Syncs are rate-limited (changes that arrive within `minimumInterval`
/// of the last sync go together into the next one) and retried after a failure as a full sync. Each sync is
/// recorded in `metrics`; after each successful one the `healthServer` serves the services' health checks.
public final class ServiceProxyAgent: ServiceLifecycle.Service {
    private let client: KubeClient
    private let syncer: ProxySyncer
    public let metrics: ProxyMetrics
    private let healthServer: ServiceHealthServer?
    private let minimumInterval: Duration
    private let retryInterval: Duration
    private let logger: Logger

    /// `healthServer` nil: no healthCheckNodePort servers.
    public init(
        client: KubeClient, syncer: ProxySyncer, metrics: ProxyMetrics = ProxyMetrics(),
        healthServer: ServiceHealthServer? = nil, minimumInterval: Duration = .milliseconds(50),
        retryInterval: Duration = .seconds(1), logger: Logger = Logger(label: "weft.agent.proxy")
    ) {
        self.client = client
        self.syncer = syncer
        self.metrics = metrics
        self.healthServer = healthServer
        self.minimumInterval = minimumInterval
        self.retryInterval = retryInterval
        self.logger = logger
    }

    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let syncer = self.syncer
        let metrics = self.metrics
        let changed: @Sendable () -> Void = {
            metrics.recordQueued()
            trigger.yield()
        }
        let services = Self.informer(
            client, set: { (service: KubeModel.Service) in await syncer.set(service) },
            remove: { (service: KubeModel.Service) in await syncer.remove(service) }, changed: changed)
        let slices = Self.informer(
            client, set: { (slice: EndpointSlice) in await syncer.set(slice) },
            remove: { (slice: EndpointSlice) in await syncer.remove(slice) }, changed: changed)
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await services.run() }
                    group.addTask { try await slices.run() }
                    try await services.waitForSync()
                    try await slices.waitForSync()
                    trigger.yield()
                    for await _ in triggers {
                        await self.syncUntilDone(services: services.store)
                        try await Task.sleep(for: self.minimumInterval)
                    }
                }
            }
        } catch {
            await healthServer?.closeAll()
            throw error
        }
        await healthServer?.closeAll()
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
    private func syncUntilDone(services: Store<KubeModel.Service>) async {
        while !Task.isCancelled {
            let start = ContinuousClock.now
            do {
                let report = try await syncer.sync()
                let duration = ContinuousClock.now - start
                metrics.recordSuccess(
                    report, duration: duration, services: Self.proxiedCount(services.list()),
                    objects: await syncer.objectCounts)
                log(report, duration: duration)
                if let healthServer {
                    await healthServer.update(
                        await syncer.healthChecks.map {
                            ServiceHealthServer.Check(
                                namespace: $0.namespace, name: $0.name, port: $0.port, localEndpoints: $0.localEndpoints
                            )
                        })
                }
                return
            } catch {
                metrics.recordFailure(error)
                logger.error("service sync failed, retrying as a full sync: \(error)")
                try? await Task.sleep(for: retryInterval)
            }
        }
    }

    private func log(_ report: ProxySyncer.Report, duration: Duration) {
        for skipped in report.skipped { logger.warning("service skipped: \(skipped)") }
        if let error = report.conntrackError {
            logger.warning(
                "deleting stale UDP conntrack entries failed",
                metadata: ["flows": "\(report.staleFlows.count)", "error": "\(error)"])
        } else if !report.staleFlows.isEmpty {
            logger.debug(
                "deleted stale UDP conntrack entries",
                metadata: ["flows": "\(report.staleFlows.count)", "entries": "\(report.conntrackEntriesDeleted)"])
        }
        if report.operations > 0 {
            logger.debug(
                "synced services",
                metadata: [
                    "full": "\(report.full)", "services": "\(report.services)",
                    "operations": "\(report.operations)", "duration": "\(duration)",
                ])
        }
    }

    /// The services the proxy programs: those with cluster IPs (not headless, not ExternalName).
    static func proxiedCount(_ services: [KubeModel.Service]) -> Int {
        services.count { service in
            guard let spec = service.spec, spec.type != "ExternalName", !spec.isHeadless else { return false }
            return spec.clusterIP != nil || !(spec.clusterIPs ?? []).isEmpty
        }
    }
}

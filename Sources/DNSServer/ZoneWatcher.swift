import ClusterDNS
import KubeClient
import KubeModel
import Logging
import ServiceLifecycle

/// Keeps a `ZoneStore` up to date from Service, EndpointSlice, Pod and Namespace informers; marks it ready once
/// every informer has delivered its first list. Each change is applied as it arrives (a change to one object
/// costs that object, not the zone) and its time from event to zone is recorded.
public final class ZoneWatcher: ServiceLifecycle.Service {
    private let client: KubeClient
    private let zones: ZoneStore
    private let metrics: DNSMetrics
    private let logger: Logger

    public init(
        client: KubeClient, zones: ZoneStore, metrics: DNSMetrics, logger: Logger = Logger(label: "weft.dns")
    ) {
        self.client = client
        self.zones = zones
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        let services = informer(
            Service.self, set: { zone, service in zone.update(service: service) },
            remove: { zone, service in zone.remove(service: service) })
        let slices = informer(
            EndpointSlice.self, set: { zone, slice in zone.update(slice: slice) },
            remove: { zone, slice in zone.remove(slice: slice) })
        let pods = informer(
            Pod.self, set: { zone, pod in zone.update(pod: pod) }, remove: { zone, pod in zone.remove(pod: pod) })
        let namespaces = informer(
            Namespace.self, set: { zone, namespace in zone.update(namespace: namespace) },
            remove: { zone, namespace in zone.remove(namespace: namespace) })
        let zones = zones
        let logger = logger
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await services.run() }
                group.addTask { try await slices.run() }
                group.addTask { try await pods.run() }
                group.addTask { try await namespaces.run() }
                try await services.waitForSync()
                try await slices.waitForSync()
                try await pods.waitForSync()
                try await namespaces.waitForSync()
                zones.markReady()
                logger.notice("cluster zone ready", metadata: ["names": "\(zones.snapshot.nameCount)"])
            }
        }
    }

    /// An informer whose events change the zone.
    private func informer<T: KubeObject>(
        _ type: T.Type, set: @escaping @Sendable (inout ClusterZone, T) -> Void,
        remove: @escaping @Sendable (inout ClusterZone, T) -> Void
    ) -> Informer<T> {
        let informer = Informer<T>(client: client)
        let zones = zones
        let metrics = metrics
        @Sendable func apply(_ object: T, _ change: @escaping @Sendable (inout ClusterZone, T) -> Void) {
            let started = ContinuousClock.now
            zones.update { change(&$0, object) }
            metrics.recordProgramming(ContinuousClock.now - started)
        }
        informer.addHandlers(
            Informer<T>.Handlers(
                onAdd: { apply($0, set) }, onUpdate: { _, new in apply(new, set) }, onDelete: { apply($0, remove) }))
        return informer
    }
}

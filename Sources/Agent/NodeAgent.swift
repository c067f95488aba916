import KubeClient
import KubeModel
import Logging
import ServiceLifecycle

/// The overlay half of `weft agent`: watches Nodes and reconciles this node's routes, VXLAN devices, FDB and
/// neighbour entries whenever a node joins, leaves or changes its pod CIDRs or InternalIPs; also every
/// `resyncInterval` (repairing what someone else removed) and, after a failure, every `retryInterval`.
///
/// Reconciles never overlap: events that arrive during one collapse into a single next one. Shutting down leaves
/// the kernel state in place, so pods keep talking while the agent restarts.
public final class NodeAgent: ServiceLifecycle.Service {
    /// Timing of the agent's own reconciles.
    public struct Options: Sendable {
        public var resyncInterval: Duration
        public var retryInterval: Duration

        public init(resyncInterval: Duration = .seconds(60), retryInterval: Duration = .seconds(2)) {
            self.resyncInterval = resyncInterval
            self.retryInterval = retryInterval
        }
    }

    public let metrics: AgentMetrics
    private let informer: Informer<Node>
    private let reconciler: OverlayReconciler
    private let options: Options
    private let logger: Logger

    /// `informer` must not be running yet: the agent registers its handlers and runs it.
    public init(
        informer: Informer<Node>, reconciler: OverlayReconciler, metrics: AgentMetrics = AgentMetrics(),
        options: Options = Options(), logger: Logger = Logger(label: "weft.agent")
    ) {
        self.informer = informer
        self.reconciler = reconciler
        self.metrics = metrics
        self.options = options
        self.logger = logger
    }

    /// Runs the informer and reconciles until cancelled or until its service group shuts down gracefully.
    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        informer.addHandlers(
            Informer<Node>.Handlers(
                onAdd: { _ in trigger.yield() },
                onUpdate: { old, new in
                    // Status heartbeats change nothing the overlay uses.
                    if NodeNetwork(old) != NodeNetwork(new) { trigger.yield() }
                },
                onDelete: { _ in trigger.yield() }))
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await self.informer.run() }
                    group.addTask { await self.tick(trigger) }
                    try await self.informer.waitForSync()
                    self.metrics.recordSynced()
                    self.logger.info("synced Nodes; reconciling", metadata: ["node": "\(self.reconciler.nodeName)"])
                    trigger.yield()
                    for await _ in triggers {
                        self.reconcileOnce()
                    }
                    group.cancelAll()
                }
            }
        } catch  where Task.isCancelled || Task.isShuttingDownGracefully {
            // Stopped before the first sync.
        }
    }

    /// Wakes the loop every resync interval, and every retry interval while reconciles fail.
    private func tick(_ trigger: AsyncStream<Void>.Continuation) async {
        var sinceResync = Duration.zero
        while true {
            do {
                try await Task.sleep(for: options.retryInterval)
            } catch {
                return
            }
            sinceResync += options.retryInterval
            if metrics.isFailing || sinceResync >= options.resyncInterval {
                sinceResync = .zero
                trigger.yield()
            }
        }
    }

    private func reconcileOnce() {
        let clock = ContinuousClock()
        let start = clock.now
        let nodes = informer.store.list().map(NodeNetwork.init)
        do {
            let report = try reconciler.reconcile(nodes)
            metrics.recordSuccess(report, duration: clock.now - start)
            if !report.changes.isEmpty {
                logger.info(
                    "overlay reconciled",
                    metadata: [
                        "changes": "\(report.changes.map(\.description))", "peers": "\(report.plan.peers.sorted())",
                        "skipped": "\(report.plan.skipped.map(\.description))",
                    ])
            }
        } catch let error as OverlayReconcileError {
            metrics.recordFailure(error, report: error.report, duration: clock.now - start)
            logger.error("overlay reconcile failed in part", metadata: ["error": "\(error)"])
        } catch {
            metrics.recordFailure(error, report: nil, duration: clock.now - start)
            logger.error("overlay reconcile failed", metadata: ["error": "\(error)"])
        }
    }
}

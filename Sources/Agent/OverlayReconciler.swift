import KubeModel
import WeftNet

/// Brings one node's kernel in line with the Node objects: plans (``OverlayPlan``), observes what the agent owns,
/// diffs (``OverlayState/changes(to:)``) and applies only the difference. Calling it again with the same nodes
/// changes nothing.
public struct OverlayReconciler: Sendable {
    public let nodeName: String
    public let configuration: OverlayConfiguration
    public let kernel: any OverlayKernel

    public init(nodeName: String, configuration: OverlayConfiguration, kernel: any OverlayKernel) {
        self.nodeName = nodeName
        self.configuration = configuration
        self.kernel = kernel
    }

    /// What this node's overlay should be, given `nodes`, with the underlay MTU looked up in the kernel.
    public func plan(_ nodes: [NodeNetwork]) throws -> OverlayPlan {
        var underlayMTU: [IPFamily: Int] = [:]
        if configuration.mode == .vxlan, let local = nodes.first(where: { $0.name == nodeName }) {
            for (family, address) in local.internalIPs {
                underlayMTU[family] = try kernel.underlayMTU(of: address)
            }
        }
        return OverlayPlan(nodeName: nodeName, configuration: configuration, nodes: nodes, underlayMTU: underlayMTU)
    }

    /// Reconciles once. Every change is attempted even when an earlier one fails (one bad peer does not hold up
    /// the others); failures are thrown together afterwards as ``OverlayReconcileError``.
    @discardableResult
    public func reconcile(_ nodes: [NodeNetwork]) throws -> ReconcileReport {
        let plan = try plan(nodes)
        let changes = try kernel.observe().changes(to: plan.state)
        var failures: [OverlayReconcileError.Failure] = []
        for change in changes {
            do {
                try kernel.apply(change)
            } catch {
                failures.append(.init(change: change, error: error))
            }
        }
        let report = ReconcileReport(plan: plan, changes: changes, failures: failures.count)
        if !failures.isEmpty { throw OverlayReconcileError(report: report, failures: failures) }
        return report
    }

    /// Reconciles once from Node objects.
    @discardableResult
    public func reconcile(nodes: [Node]) throws -> ReconcileReport {
        try reconcile(nodes.map(NodeNetwork.init))
    }
}

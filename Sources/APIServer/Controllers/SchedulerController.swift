import Foundation
import KubeModel
import ServiceLifecycle
import Synchronization
import WeftNet

/// A minimal kube-scheduler inside the server: every pod without `spec.nodeName` (of the default scheduler, not
/// being deleted) goes to the ready, schedulable node that matches its `nodeSelector` and runs the fewest pods
/// (ties by name), as a binding would place it: `spec.nodeName` set and the `PodScheduled` condition true.
/// Taints, tolerations, affinity and resources are not considered.
final class SchedulerController: ServiceLifecycle.Service, Sendable {
    let store: ObjectStore
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation

    init(store: ObjectStore) {
        self.store = store
        (signal, signalContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Watches pods and nodes and schedules until cancelled or shut down gracefully.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for resource in [Resources.pod, Resources.node] {
                    group.addTask { await self.watchLoop(resource) }
                }
                group.addTask {
                    for await _ in self.signal {
                        do {
                            try await self.schedule()
                        } catch {
                            try? await Task.sleep(for: .milliseconds(200))
                            self.signalContinuation.yield()
                        }
                    }
                }
            }
        }
    }

    private func watchLoop(_ resource: ResourceInfo) async {
        while !Task.isCancelled {
            do {
                let subscription = try await store.watch(resource, namespace: nil, from: nil)
                signalContinuation.yield()
                for await _ in subscription.stream { signalContinuation.yield() }
            } catch {}
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Places every pending pod, in one transaction.
    func schedule() async throws {
        try await store.transaction { tx in
            let nodes = try tx.list(Resources.node, namespace: nil).filter(Self.schedulable)
            guard !nodes.isEmpty else { return }
            let pods = try tx.list(Resources.pod, namespace: nil)
            var counts: [String: Int] = [:]
            for pod in pods {
                guard let node = pod["spec"]?["nodeName"]?.stringValue, !node.isEmpty else { continue }
                let phase = pod["status"]?["phase"]?.stringValue
                if phase != "Succeeded" && phase != "Failed" { counts[node, default: 0] += 1 }
            }
            let pending = pods.filter { pod in
                (pod["spec"]?["nodeName"]?.stringValue ?? "").isEmpty
                    && pod.metadataString("deletionTimestamp") == nil
                    && (pod["spec"]?["schedulerName"]?.stringValue ?? "default-scheduler") == "default-scheduler"
            }
            .sorted {
                ($0.metadataString("creationTimestamp") ?? "", $0.metadataString("name") ?? "")
                    < ($1.metadataString("creationTimestamp") ?? "", $1.metadataString("name") ?? "")
            }
            for pod in pending {
                let selector = pod["spec"]?["nodeSelector"]?.objectValue?.compactMapValues(\.stringValue) ?? [:]
                let fitting = nodes.filter { node in
                    let labels = node.labels
                    return selector.allSatisfy { labels[$0.key] == $0.value }
                }
                guard
                    let chosen = fitting.min(by: { a, b in
                        let (nameA, nameB) = (a.metadataString("name") ?? "", b.metadataString("name") ?? "")
                        return (counts[nameA, default: 0], nameA) < (counts[nameB, default: 0], nameB)
                    })?.metadataString("name")
                else { continue }
                var bound = pod
                bound.setValue(.string(chosen), at: ["spec", "nodeName"])
                var conditions = (pod["status"]?["conditions"]?.arrayValue ?? []).filter {
                    $0["type"]?.stringValue != "PodScheduled"
                }
                conditions.append(
                    .object([
                        "type": .string("PodScheduled"), "status": .string("True"),
                        "lastTransitionTime": .string(Registry.timestamp()),
                    ]))
                bound.setValue(.array(conditions), at: ["status", "conditions"])
                counts[chosen, default: 0] += 1
                try tx.put(
                    Resources.pod, namespace: pod.metadataString("namespace"), name: pod.metadataString("name") ?? "",
                    object: bound, old: pod)
            }
        }
    }

    /// Ready (condition `Ready` true), not cordoned (`spec.unschedulable`), not being deleted.
    static func schedulable(_ node: JSONValue) -> Bool {
        let ready =
            node["status"]?["conditions"]?.arrayValue?.contains {
                $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
            } ?? false
        return ready && node["spec"]?["unschedulable"] != .bool(true) && node.metadataString("deletionTimestamp") == nil
    }
}

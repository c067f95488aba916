import Foundation
import KubeModel
import ServiceLifecycle
import WeftNet

/// Deletes Events a while after they last happened, as kube-apiserver's `--event-ttl` (default 1 h) does through
/// etcd leases: events are a log, not state, and would otherwise grow without bound.
final class EventTTLController: ServiceLifecycle.Service, Sendable {
    let store: ObjectStore
    let ttl: Duration
    let interval: Duration

    init(store: ObjectStore, ttl: Duration) {
        self.store = store
        self.ttl = ttl
        // Sweep often enough that an event outlives its TTL by at most a tenth of it (and at least every minute).
        interval = min(ttl / 10, .seconds(60))
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = try? await self.sweep()
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// Deletes every expired event; returns how many.
    @discardableResult
    func sweep(now: Date = Date()) async throws -> Int {
        let cutoff = now.addingTimeInterval(-(ttl / .seconds(1)))
        return try await store.transaction { tx in
            var deleted = 0
            for event in try tx.list(Resources.event, namespace: nil) where Self.lastSeen(event) ?? now < cutoff {
                try tx.delete(
                    Resources.event, namespace: event.metadataString("namespace"),
                    name: event.metadataString("name") ?? "", old: event)
                deleted += 1
            }
            return deleted
        }
    }

    /// When the event last happened: `lastTimestamp`, else `eventTime`, else its creation.
    static func lastSeen(_ event: JSONValue) -> Date? {
        let text =
            event["lastTimestamp"]?.stringValue ?? event["eventTime"]?.stringValue
            ?? event.metadataString("creationTimestamp")
        guard var text else { return nil }
        // MicroTime (`eventTime`) carries six fractional digits; whole seconds are precise enough here.
        if let dot = text.firstIndex(of: ".") {
            let end = text[dot...].dropFirst().firstIndex { !$0.isNumber } ?? text.endIndex
            text.removeSubrange(dot..<end)
        }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }
}

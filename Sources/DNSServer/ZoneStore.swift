import ClusterDNS
import DNS
import KubeModel
import Synchronization

/// The cluster zone shared between the informers that change it and the server threads that read it: readers
/// take a copy under a short lock (`ClusterZone` is a value whose storage is shared until changed, in shards).
public final class ZoneStore: Sendable {
    private let zone: Mutex<ClusterZone>
    private let synced = Atomic<Bool>(false)
    /// Bumped by every `update`: what the UDP answer cache compares to know its answers are still the zone's.
    private let changes = Atomic<UInt64>(0)

    public init(configuration: ClusterZoneConfiguration = ClusterZoneConfiguration()) {
        zone = Mutex(ClusterZone(configuration: configuration))
    }

    /// The zone as it is now.
    public var snapshot: ClusterZone { zone.withLock { $0 } }

    public func update(_ change: (inout ClusterZone) -> Void) {
        zone.withLock {
            change(&$0)
            // Inside the lock: a reader that saw generation G and then took a snapshot has a zone at least as new
            // as G's.
            changes.add(1, ordering: .releasing)
        }
    }

    /// How many times the zone was updated. An answer computed from a snapshot taken after reading generation G
    /// is the zone's answer for as long as the generation is still G.
    public var generation: UInt64 { changes.load(ordering: .acquiring) }

    /// Whether every informer has delivered its first list (`/ready`).
    public var isReady: Bool { synced.load(ordering: .acquiring) }

    public func markReady() { synced.store(true, ordering: .releasing) }
}

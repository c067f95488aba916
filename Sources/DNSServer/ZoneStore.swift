import ClusterDNS
import DNS
import KubeModel
import Synchronization

/// The cluster zone shared between the informers that change it and the server threads that read it: readers
/// take a copy under a short lock (`ClusterZone` is a value whose storage is shared until changed, in shards).
public final class ZoneStore: Sendable {
    private let zone: Mutex<ClusterZone>
    private let synced = Atomic<Bool>(false)

    public init(configuration: ClusterZoneConfiguration = ClusterZoneConfiguration()) {
        zone = Mutex(ClusterZone(configuration: configuration))
    }

    /// The zone as it is now.
    public var snapshot: ClusterZone { zone.withLock { $0 } }

    public func update(_ change: (inout ClusterZone) -> Void) {
        zone.withLock { change(&$0) }
    }

    /// Whether every informer has delivered its first list (`/ready`).
    public var isReady: Bool { synced.load(ordering: .acquiring) }

    public func markReady() { synced.store(true, ordering: .releasing) }
}

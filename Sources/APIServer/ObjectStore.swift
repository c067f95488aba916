import Foundation
import GRDB
import KubeModel
import WeftNet

/// The server's storage: every object as JSON in one SQLite table (via GRDB), a resourceVersion counter kept in the
/// same database (so it keeps growing across restarts), and an in-memory ring of recent events that watches resume
/// from and that is fanned out to subscribers.
///
/// Every write runs in one database transaction (`transaction(_:)`); the events it produced are published, in
/// resourceVersion order, only after the commit.
public actor ObjectStore {
    /// What a committed write did to an object, as a watch reports it.
    public struct Event: Sendable {
        public enum Kind: String, Sendable {
            case added = "ADDED"
            case modified = "MODIFIED"
            case deleted = "DELETED"
        }

        public var kind: Kind
        /// `group/plural` (core group: `/pods`).
        public var resourceKey: String
        public var namespace: String
        /// The object after the write (for a deletion: the last state, with the deletion's resourceVersion).
        public var object: JSONValue
        /// The object before the write (nil for an addition); watches with selectors need it.
        public var oldObject: JSONValue?
        public var resourceVersion: Int64
    }

    /// Why a watch cannot start from the resourceVersion asked for.
    public enum WatchStartError: Error, Sendable, Equatable {
        /// Older than the oldest event kept in the ring: the client must relist (410 Gone).
        case expired(requested: Int64, oldest: Int64)
        /// Newer than anything stored.
        case tooLarge(requested: Int64, current: Int64)
    }

    /// A watch: the events to send first, then the live stream.
    public struct Subscription: Sendable {
        public var initial: [Event]
        public var stream: AsyncStream<Event>
        /// The store's resourceVersion when the subscription started.
        public var startResourceVersion: Int64
    }

    private let database: DatabaseQueue
    private(set) var currentResourceVersion: Int64
    private let ringCapacity: Int
    /// The recent events are `ring[ringStart...]`; dropped ones are compacted away in batches.
    private var ring: [Event] = []
    private var ringStart = 0
    /// A watch may resume from any resourceVersion ≥ this one: every event after it is in the ring.
    private(set) var oldestResumableVersion: Int64
    private var subscribers: [UInt64: Subscriber] = [:]
    private var pendingWrites: [PendingWrite] = []
    private var flushScheduled = false
    private var nextSubscriberID: UInt64 = 0
    private let subscriberBuffer: Int

    private struct Subscriber {
        var resourceKey: String
        var namespace: String?
        var continuation: AsyncStream<Event>.Continuation
    }

    /// Opens (creating if needed) the database at `path`; `nil` keeps it in memory.
    /// - Parameters:
    ///   - ringCapacity: how many recent events watches can resume from.
    ///   - subscriberBuffer: how many events a slow watcher may fall behind before its watch is ended.
    public init(path: String?, ringCapacity: Int = 4096, subscriberBuffer: Int = 10_000) throws {
        var configuration = Configuration()
        configuration.label = "weft-apiserver"
        let database =
            if let path {
                try DatabaseQueue(path: path, configuration: configuration)
            } else {
                try DatabaseQueue(configuration: configuration)
            }
        if path != nil {
            // Write-ahead log, still fsync'd at every commit (synchronous=FULL): a commit appends to the log instead
            // of rewriting pages through a rollback journal, ~14× the commits per second on this disk.
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL")
            }
        }
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS objects (
                        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                        resourceVersion INTEGER NOT NULL, json TEXT NOT NULL,
                        PRIMARY KEY (resource, namespace, name));
                    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    INSERT OR IGNORE INTO meta (key, value) VALUES ('resourceVersion', 0);
                    """)
        }
        let rv = try database.read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'resourceVersion'") ?? 0
        }
        self.database = database
        currentResourceVersion = rv
        oldestResumableVersion = rv
        self.ringCapacity = max(1, ringCapacity)
        self.subscriberBuffer = max(1, subscriberBuffer)
    }

    /// The resourceVersion of the last committed write.
    public var resourceVersion: Int64 { currentResourceVersion }

    // MARK: Reads

    /// One object, or nil.
    public func get(_ resource: ResourceInfo, namespace: String?, name: String) throws -> JSONValue? {
        try database.read { db in
            try Transaction.fetch(db, key: resource.storageKey, namespace: namespace ?? "", name: name)
        }
    }

    /// The objects of a resource (in one namespace, or all of them), sorted by namespace and name, and the
    /// resourceVersion the list is consistent with.
    public func list(_ resource: ResourceInfo, namespace: String?) throws -> (
        items: [JSONValue], resourceVersion: Int64
    ) {
        let items = try database.read { db in
            try Transaction.fetchAll(db, key: resource.storageKey, namespace: namespace)
        }
        return (items, currentResourceVersion)
    }

    // MARK: Writes

    /// Runs `body` as one atomic write: if it throws, nothing it wrote is kept and no event is published. Its
    /// events are published, and it returns, only once its writes are committed and durable.
    ///
    /// Group commit: writes that arrive while the store is busy are queued and run together, one after another,
    /// in a single SQLite transaction (each in its own savepoint, so one body's failure undoes only its own
    /// writes). Each body still sees every write before it; the batch pays for one commit and one fsync instead
    /// of one per write, as etcd batches its raft proposals.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (inout Transaction) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            var result: T?
            pendingWrites.append(
                PendingWrite(
                    run: { transaction in result = try body(&transaction) },
                    complete: { error in
                        if let error {
                            continuation.resume(throwing: error)
                        } else if let result {
                            continuation.resume(returning: result)
                        }
                    }))
            if !flushScheduled {
                flushScheduled = true
                Task { self.flushPendingWrites() }
            }
        }
    }

    /// A queued write: `run` applies it inside the batch's transaction, `complete` answers its caller.
    private struct PendingWrite {
        var run: (inout Transaction) throws -> Void
        var complete: (Error?) -> Void
    }

    /// Commits every queued write in one transaction, then publishes their events in resourceVersion order and
    /// answers the callers. A failed commit fails every write of the batch.
    private func flushPendingWrites() {
        flushScheduled = false
        let batch = pendingWrites
        pendingWrites = []
        guard !batch.isEmpty else { return }
        let start = currentResourceVersion
        var last = start
        var events: [Event] = []
        var outcomes: [Error?] = []
        do {
            try database.write { db in
                for write in batch {
                    var transaction = Transaction(db: db, resourceVersion: last)
                    do {
                        try db.inSavepoint {
                            try write.run(&transaction)
                            return .commit
                        }
                        last = transaction.resourceVersion
                        events += transaction.events
                        outcomes.append(nil)
                    } catch {
                        outcomes.append(error)
                    }
                }
                if last != start {
                    try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'resourceVersion'", arguments: [last])
                }
            }
        } catch {
            for write in batch { write.complete(error) }
            return
        }
        currentResourceVersion = last
        for event in events { publish(event) }
        for (write, outcome) in zip(batch, outcomes) { write.complete(outcome) }
    }

    /// Reads and writes inside one transaction.
    public struct Transaction {
        let db: Database
        /// The resourceVersion of the last write so far (each write takes the next one).
        public private(set) var resourceVersion: Int64
        var events: [Event] = []

        init(db: Database, resourceVersion: Int64) {
            self.db = db
            self.resourceVersion = resourceVersion
        }

        public func get(_ resource: ResourceInfo, namespace: String?, name: String) throws -> JSONValue? {
            try Self.fetch(db, key: resource.storageKey, namespace: namespace ?? "", name: name)
        }

        public func list(_ resource: ResourceInfo, namespace: String?) throws -> [JSONValue] {
            try Self.fetchAll(db, key: resource.storageKey, namespace: namespace)
        }

        /// Stores `object` (creating or replacing), stamping `metadata.resourceVersion`; returns what was stored.
        @discardableResult
        public mutating func put(
            _ resource: ResourceInfo, namespace: String?, name: String, object: JSONValue, old: JSONValue?
        ) throws -> JSONValue {
            resourceVersion += 1
            var stored = object
            stored.setValue(.string(String(resourceVersion)), at: ["metadata", "resourceVersion"])
            let text = JSONCoding.encodeString(stored)
            try db.execute(
                sql: """
                    INSERT INTO objects (resource, namespace, name, resourceVersion, json) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (resource, namespace, name)
                    DO UPDATE SET resourceVersion = excluded.resourceVersion, json = excluded.json
                    """,
                arguments: [resource.storageKey, namespace ?? "", name, resourceVersion, text])
            events.append(
                Event(
                    kind: old == nil ? .added : .modified, resourceKey: resource.storageKey,
                    namespace: namespace ?? "", object: stored, oldObject: old, resourceVersion: resourceVersion))
            return stored
        }

        /// Removes an object; returns its last state stamped with the deletion's resourceVersion.
        @discardableResult
        public mutating func delete(
            _ resource: ResourceInfo, namespace: String?, name: String, old: JSONValue
        ) throws -> JSONValue {
            resourceVersion += 1
            try db.execute(
                sql: "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                arguments: [resource.storageKey, namespace ?? "", name])
            var last = old
            last.setValue(.string(String(resourceVersion)), at: ["metadata", "resourceVersion"])
            events.append(
                Event(
                    kind: .deleted, resourceKey: resource.storageKey, namespace: namespace ?? "", object: last,
                    oldObject: old, resourceVersion: resourceVersion))
            return last
        }

        static func fetch(_ db: Database, key: String, namespace: String, name: String) throws -> JSONValue? {
            guard
                let text = try String.fetchOne(
                    db, sql: "SELECT json FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                    arguments: [key, namespace, name])
            else { return nil }
            return try JSONValue(parsing: text)
        }

        static func fetchAll(_ db: Database, key: String, namespace: String?) throws -> [JSONValue] {
            let texts: [String]
            if let namespace {
                texts = try String.fetchAll(
                    db, sql: "SELECT json FROM objects WHERE resource = ? AND namespace = ? ORDER BY name",
                    arguments: [key, namespace])
            } else {
                texts = try String.fetchAll(
                    db, sql: "SELECT json FROM objects WHERE resource = ? ORDER BY namespace, name",
                    arguments: [key])
            }
            return try texts.map { try JSONValue(parsing: $0) }
        }
    }

    // MARK: Watch

    /// Starts a watch of one resource (in one namespace, or all).
    ///
    /// With `from == nil` the initial events are a synthetic ADDED for every current object; otherwise they are the
    /// ring's events after `from`. Either way the live stream continues without a gap or a duplicate.
    public func watch(
        _ resource: ResourceInfo, namespace: String?, from: Int64?
    ) throws -> Subscription {
        let key = resource.storageKey
        var initial: [Event] = []
        if let from {
            if from > currentResourceVersion {
                throw WatchStartError.tooLarge(requested: from, current: currentResourceVersion)
            }
            if from < oldestResumableVersion {
                throw WatchStartError.expired(requested: from, oldest: oldestResumableVersion)
            }
            initial = ring[ringStart...].filter {
                $0.resourceVersion > from && $0.resourceKey == key && (namespace == nil || $0.namespace == namespace)
            }
        } else {
            let items = try database.read { db in try Transaction.fetchAll(db, key: key, namespace: namespace) }
            initial = items.map { item in
                Event(
                    kind: .added, resourceKey: key, namespace: item.metadataString("namespace") ?? "", object: item,
                    oldObject: nil, resourceVersion: Int64(item.metadataString("resourceVersion") ?? "") ?? 0)
            }
        }
        let (stream, continuation) = AsyncStream.makeStream(
            of: Event.self, bufferingPolicy: .bufferingOldest(subscriberBuffer))
        let id = nextSubscriberID
        nextSubscriberID += 1
        subscribers[id] = Subscriber(resourceKey: key, namespace: namespace, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.unsubscribe(id) }
        }
        return Subscription(initial: initial, stream: stream, startResourceVersion: currentResourceVersion)
    }

    /// How many watches are open (for tests and metrics), including the in-process controllers' own.
    public var subscriberCount: Int { subscribers.count }

    /// How many watches of one resource are open.
    public func subscriberCount(of resource: ResourceInfo) -> Int {
        subscribers.values.count { $0.resourceKey == resource.storageKey }
    }

    /// Ends every open watch stream (on shutdown).
    public func finishAllWatches() {
        for subscriber in subscribers.values { subscriber.continuation.finish() }
        subscribers.removeAll()
    }

    private func unsubscribe(_ id: UInt64) {
        subscribers[id] = nil
    }

    private func publish(_ event: Event) {
        ring.append(event)
        if ring.count - ringStart > ringCapacity {
            oldestResumableVersion = ring[ringStart].resourceVersion
            ringStart += 1
            if ringStart >= ringCapacity {
                ring.removeFirst(ringStart)
                ringStart = 0
            }
        }
        for (id, subscriber) in subscribers where subscriber.resourceKey == event.resourceKey {
            if let namespace = subscriber.namespace, namespace != event.namespace { continue }
            if case .dropped = subscriber.continuation.yield(event) {
                // The watcher fell too far behind: end its watch; it resumes (or relists) like any kube client.
                subscriber.continuation.finish()
                subscribers[id] = nil
            }
        }
    }
}

extension ResourceInfo {
    /// The key objects of this resource are stored under: `group/plural` (`/pods`, `apps/deployments`).
    var storageKey: String { "\(group)/\(plural)" }
}

import NFTables
import Synchronization

/// Forwards to another backend and records what it was asked to change since the last `reset()` — text
/// transactions, and element replacements as their text equivalent (`Transaction.replacingElements`) — and how
/// long the backend took in all. The benchmarks use it to time a sync's kernel part and to replay the same work
/// through `nft -f`.
public final class RecordingNFTables: NFTablesBackend {
    public let inner: any NFTablesBackend
    private let recorded = Mutex((tx: Transaction(), seconds: 0.0))

    public init(_ inner: any NFTablesBackend) { self.inner = inner }

    /// What was sent since the last `reset()`, as one transaction, and the seconds the backend took.
    public var last: (tx: Transaction, seconds: Double) { recorded.withLock { $0 } }

    public func reset() { recorded.withLock { $0 = (Transaction(), 0) } }

    private func timed<T>(_ tx: Transaction, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = (ContinuousClock.now - start).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        recorded.withLock {
            $0.tx.append(contentsOf: tx)
            $0.seconds += seconds
        }
        return result
    }

    public func apply(_ tx: Transaction) throws { try timed(tx) { try inner.apply(tx) } }

    public func replaceElements(of sets: [NFTSet], with elements: [Element]) throws {
        try timed(Transaction.replacingElements(of: sets, with: elements)) {
            try inner.replaceElements(of: sets, with: elements)
        }
    }

    public func tableInfo(family: Family, table: String) throws -> NFTTableInfo? {
        try timed(Transaction()) { try inner.tableInfo(family: family, table: table) }
    }

    public func listTableNames(family: Family?) throws -> [(family: Family, name: String)] {
        try inner.listTableNames(family: family)
    }

    public func listRules(family: Family, table: String, chain: String) throws -> [Rule] {
        try inner.listRules(family: family, table: table, chain: chain)
    }

    public func listElements(family: Family, table: String, set: String) throws -> [Element] {
        try inner.listElements(family: family, table: table, set: set)
    }

    public func listTable(family: Family, table: String) throws -> String? {
        try inner.listTable(family: family, table: table)
    }
}

import DNS

/// A dictionary split into a fixed number of shards. A `ClusterZone` published as a snapshot (copied to readers)
/// and then changed copies, on write, only the outer array of shards and the one shard it touches — not every
/// entry of the zone, as one big dictionary would.
struct ShardedDictionary<Key: Hashable, Value> {
    static var shardBits: Int { 6 }
    private var shards: [[Key: Value]] = Array(repeating: [:], count: 1 << Self.shardBits)
    private(set) var count = 0

    init() {}

    private static func shard(_ key: Key) -> Int {
        // The hash's high bits pick the shard; each shard's dictionary hashes with its own seed.
        Int(truncatingIfNeeded: UInt(bitPattern: key.hashValue) >> UInt(UInt.bitWidth - shardBits))
    }

    subscript(key: Key) -> Value? {
        get { shards[Self.shard(key)][key] }
        set {
            let index = Self.shard(key)
            if let newValue {
                if shards[index].updateValue(newValue, forKey: key) == nil { count += 1 }
            } else if shards[index].removeValue(forKey: key) != nil {
                count -= 1
            }
        }
    }

    /// Changes the value in place (nil: absent before, or to remove it); taken out while `body` runs, so an
    /// array value is changed without a copy.
    mutating func modify<R>(_ key: Key, _ body: (inout Value?) -> R) -> R {
        let index = Self.shard(key)
        var value = shards[index].removeValue(forKey: key)
        let had = value != nil
        let result = body(&value)
        if let value { shards[index][key] = value }
        count += (value != nil ? 1 : 0) - (had ? 1 : 0)
        return result
    }

    var isEmpty: Bool { count == 0 }
}

extension ShardedDictionary: Sendable where Key: Sendable, Value: Sendable {}

/// A name as a key of the zone's index: hashed once, without regard to case (FNV-1a over the lower-cased labels
/// and their lengths), so a lookup walks the name's bytes once rather than once for the shard and again for the
/// shard's dictionary.
struct NameKey: Hashable, Sendable {
    var name: DNSName
    var fingerprint: UInt64

    init(_ name: DNSName) {
        self.name = name
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for label in name.labels {
            hash = (hash ^ UInt64(label.count)) &* 0x100_0000_01b3
            for byte in label {
                hash = (hash ^ UInt64((65...90).contains(byte) ? byte | 0x20 : byte)) &* 0x100_0000_01b3
            }
        }
        fingerprint = hash
    }

    static func == (a: Self, b: Self) -> Bool { a.fingerprint == b.fingerprint && a.name == b.name }

    func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
}

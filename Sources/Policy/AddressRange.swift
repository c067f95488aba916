import WeftNet

/// An inclusive range of addresses of one family: a pod's address, an ipBlock's CIDR, or a piece of a CIDR that
/// its `except` entries leave.
public struct AddressRange: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var family: IPFamily
    public var lower: UInt128
    public var upper: UInt128

    public init(family: IPFamily, lower: UInt128, upper: UInt128) {
        precondition(lower <= upper, "an empty address range")
        self.family = family
        self.lower = lower
        self.upper = upper
    }

    public init(_ address: IPAddress) {
        self.init(family: address.family, lower: address.numeric, upper: address.numeric)
    }

    public init(_ prefix: IPPrefix) {
        let network = prefix.network
        self.init(family: prefix.family, lower: network.address.numeric, upper: prefix.lastAddress.numeric)
    }

    /// Every address of `family`.
    public static func all(_ family: IPFamily) -> AddressRange {
        AddressRange(family: family, lower: 0, upper: family == .v4 ? UInt128(UInt32.max) : UInt128.max)
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && lower <= address.numeric && address.numeric <= upper
    }

    public static func < (a: Self, b: Self) -> Bool {
        if a.family != b.family { return a.family == .v4 }
        return (a.lower, a.upper) < (b.lower, b.upper)
    }

    /// nft's text: an address, a prefix when the range is one, else `first-last`.
    public var description: String {
        let first = IPAddress(family: family, numeric: lower)
        if lower == upper { return first.description }
        let size = upper &- lower &+ 1
        if let length = Self.prefixLength(lower: lower, size: size, family: family) {
            return "\(first)/\(length)"
        }
        if lower == 0 && upper == Self.all(family).upper { return "\(first)/0" }
        return "\(first)-\(IPAddress(family: family, numeric: upper))"
    }

    private static func prefixLength(lower: UInt128, size: UInt128, family: IPFamily) -> Int? {
        // A prefix: the size is a power of two and the start is aligned to it (size 0 is the whole v6 space).
        guard size != 0, size & (size &- 1) == 0, lower & (size &- 1) == 0 else { return nil }
        return family.bitWidth - size.trailingZeroBitCount
    }

    /// `ranges` merged: sorted, overlapping and adjacent ranges joined.
    public static func merge(_ ranges: [AddressRange]) -> [AddressRange] {
        var out: [AddressRange] = []
        for range in ranges.sorted() {
            if let last = out.last, last.family == range.family,
                last.upper == UInt128.max || range.lower <= last.upper &+ 1
            {
                out[out.count - 1].upper = max(last.upper, range.upper)
            } else {
                out.append(range)
            }
        }
        return out
    }

    /// `self` without the addresses of `holes`.
    public func subtracting(_ holes: [AddressRange]) -> [AddressRange] {
        var pieces: [AddressRange] = []
        var next: UInt128? = lower
        for hole in Self.merge(holes.filter { $0.family == family }) {
            guard let start = next else { break }
            if hole.upper < start || hole.lower > upper { continue }
            if hole.lower > start { pieces.append(AddressRange(family: family, lower: start, upper: hole.lower - 1)) }
            next = hole.upper >= upper ? nil : hole.upper + 1
        }
        if let start = next, start <= upper { pieces.append(AddressRange(family: family, lower: start, upper: upper)) }
        return pieces
    }
}

/// A transport protocol a policy port names.
public enum PolicyProtocol: String, Sendable, Hashable, Comparable, CaseIterable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"

    /// nft's name (`tcp`, `udp`, `sctp`).
    public var nftName: String { rawValue.lowercased() }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Peers on any port (`any`) and peers on given protocols and ports (`ports`), as nft keys them: what one policy
/// rule — or all the NetworkPolicy rules of a pod group together — match on the peer's side.
public struct TrafficMatch: Sendable, Hashable {
    /// One peer range with one protocol and an inclusive port range.
    public struct PortEntry: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var range: AddressRange
        public var `protocol`: PolicyProtocol
        public var ports: ClosedRange<Int>

        public init(range: AddressRange, protocol: PolicyProtocol, ports: ClosedRange<Int>) {
            self.range = range
            self.protocol = `protocol`
            self.ports = ports
        }

        public static func < (a: Self, b: Self) -> Bool {
            if a.range != b.range { return a.range < b.range }
            if a.protocol != b.protocol { return a.protocol < b.protocol }
            return (a.ports.lowerBound, a.ports.upperBound) < (b.ports.lowerBound, b.ports.upperBound)
        }

        /// The nft key: `10.0.0.5 . tcp . 80` or `10.0.0.0/24 . udp . 80-81`.
        public var description: String {
            let port = ports.count == 1 ? "\(ports.lowerBound)" : "\(ports.lowerBound)-\(ports.upperBound)"
            return "\(range) . \(self.protocol.nftName) . \(port)"
        }
    }

    /// Whether the rule has the any-port shape (no `ports`): it owns an address set even when it is empty, so
    /// that pods coming and going change elements, never rules.
    public var hasAnyPortShape = false
    /// Whether the rule has the port shape (a `ports` list).
    public var hasPortShape = false
    public var any: [AddressRange] = []
    public var ports: [PortEntry] = []

    public init(hasAnyPortShape: Bool = false, hasPortShape: Bool = false) {
        self.hasAnyPortShape = hasAnyPortShape
        self.hasPortShape = hasPortShape
    }

    /// Whether a packet from (ingress) or to (egress) `peer` with `protocol` and `port` matches.
    public func matches(peer: IPAddress, protocol: PolicyProtocol?, port: Int?) -> Bool {
        if any.contains(where: { $0.contains(peer) }) { return true }
        guard let `protocol`, let port else { return false }
        return ports.contains { $0.range.contains(peer) && $0.protocol == `protocol` && $0.ports.contains(port) }
    }

    /// The union of two matches.
    public static func + (a: Self, b: Self) -> Self { union([a, b]) }

    /// The union of `matches`, normalized once.
    public static func union(_ matches: [Self]) -> Self {
        var out = TrafficMatch(
            hasAnyPortShape: matches.contains(where: \.hasAnyPortShape),
            hasPortShape: matches.contains(where: \.hasPortShape))
        for match in matches {
            out.any += match.any
            out.ports += match.ports
        }
        return out.normalized()
    }

    /// The same traffic as elements the kernel takes: address ranges merged; port entries made disjoint (a
    /// concatenated interval set refuses an element that overlaps another), adjacent ranges with equal ports
    /// joined, and entries an any-port range already covers dropped.
    public func normalized() -> TrafficMatch {
        var out = TrafficMatch(hasAnyPortShape: hasAnyPortShape, hasPortShape: hasPortShape)
        out.any = AddressRange.merge(any)
        var entries: [PortEntry] = []
        for family in IPFamily.allCases {
            for proto in PolicyProtocol.allCases {
                let group = ports.filter { $0.range.family == family && $0.protocol == proto }
                entries += Self.disjoint(group, family: family, protocol: proto)
            }
        }
        // Drop what the any-port ranges cover entirely (rare; keeps the two sets from saying the same thing).
        out.ports = entries.flatMap { entry in
            entry.range.subtracting(out.any).map { PortEntry(range: $0, protocol: entry.protocol, ports: entry.ports) }
        }
        .sorted()
        return out
    }

    private static func mergePorts(_ ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        for range in ranges.sorted(by: { ($0.lowerBound, $0.upperBound) < ($1.lowerBound, $1.upperBound) }) {
            if let last = out.last, range.lowerBound <= last.upperBound + 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                out.append(range)
            }
        }
        return out
    }

    /// Entries of one family and protocol, split at every range boundary so that no two overlap.
    private static func disjoint(_ entries: [PortEntry], family: IPFamily, protocol: PolicyProtocol) -> [PortEntry] {
        guard !entries.isEmpty else { return [] }
        // Fast path: ranges that do not overlap each other (pods are single addresses).
        let byRange = Dictionary(grouping: entries, by: \.range)
        let ranges = byRange.keys.sorted()
        var overlapping = false
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.lower <= a.upper {
            overlapping = true
            break
        }
        var segments: [(range: AddressRange, ports: [ClosedRange<Int>])] = []
        if !overlapping {
            segments = ranges.map { ($0, mergePorts(byRange[$0]!.map(\.ports))) }
        } else {
            // Elementary segments between all boundaries, each with the ports of the entries covering it.
            var points = Set<UInt128>()
            for range in ranges {
                points.insert(range.lower)
                if range.upper < UInt128.max { points.insert(range.upper + 1) }
            }
            let sorted = points.sorted()
            for (index, start) in sorted.enumerated() {
                let end = index + 1 < sorted.count ? sorted[index + 1] - 1 : ranges.map(\.upper).max()!
                guard start <= end else { continue }
                let covering = ranges.filter { $0.lower <= start && end <= $0.upper }
                guard !covering.isEmpty else { continue }
                segments.append(
                    (
                        AddressRange(family: family, lower: start, upper: end),
                        mergePorts(covering.flatMap { byRange[$0]!.map(\.ports) })
                    ))
            }
        }
        // Join neighbours with the same ports.
        var joined: [(range: AddressRange, ports: [ClosedRange<Int>])] = []
        for segment in segments {
            if let last = joined.last, last.ports == segment.ports, last.range.upper < UInt128.max,
                last.range.upper + 1 == segment.range.lower
            {
                joined[joined.count - 1].range.upper = segment.range.upper
            } else {
                joined.append(segment)
            }
        }
        return joined.flatMap { segment in
            segment.ports.map { PortEntry(range: segment.range, protocol: `protocol`, ports: $0) }
        }
    }
}

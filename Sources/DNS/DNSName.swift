/// Domain names: labels and limits of RFC 1035 §2.3.4 and §3.1, case-insensitive comparison of RFC 4343. Wire
/// encoding and compression (RFC 1035 §4.1.4) are in DNSDecoding.swift and DNSEncoding.swift.

/// A domain name as labels of raw bytes (RFC 1035 §3.1), keeping the case it was written in. Names compare and
/// hash without regard to ASCII case (RFC 4343), as DNS names do.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// The labels, most specific first, without the empty root label.
    public private(set) var labels: [[UInt8]]

    public static let root = DNSName(validatedLabels: [])
    /// A label is at most 63 bytes, a name at most 255 bytes on the wire (RFC 1035 §2.3.4).
    public static let maxLabelLength = 63
    public static let maxWireLength = 255

    /// Labels already checked against the limits.
    init(validatedLabels: [[UInt8]]) { labels = validatedLabels }

    /// A name from labels; nil when a label is empty or too long, or the name too long.
    public init?(labels: [[UInt8]]) {
        guard labels.allSatisfy({ !$0.isEmpty && $0.count <= Self.maxLabelLength }) else { return nil }
        guard labels.reduce(1, { $0 + $1.count + 1 }) <= Self.maxWireLength else { return nil }
        self.labels = labels
    }

    /// A name from presentation text (`www.example.com.` or without the final dot; `.` is the root). Dots
    /// separate labels; no escapes.
    public init?(_ text: some StringProtocol) {
        if text == "." || text.isEmpty {
            self = .root
            return
        }
        var body = Substring(text)
        if body.hasSuffix(".") { body = body.dropLast() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        self.init(labels: parts)
    }

    /// The length on the wire, uncompressed: each label with its length byte, and the root's zero byte.
    public var wireLength: Int { labels.reduce(1) { $0 + $1.count + 1 } }

    public var isRoot: Bool { labels.isEmpty }

    /// The name in lower case (ASCII), the form to use as a lookup key.
    public var lowercased: DNSName { DNSName(validatedLabels: labels.map { $0.map(Self.lower) }) }

    /// Whether `self` is `zone` or below it.
    public func isSubdomain(of zone: DNSName) -> Bool {
        guard labels.count >= zone.labels.count else { return false }
        return zip(labels.suffix(zone.labels.count), zone.labels).allSatisfy { Self.equal($0, $1) }
    }

    /// The labels before `zone` (`a.b` of `a.b.cluster.local` in `cluster.local`); nil when not below it.
    public func labels(below zone: DNSName) -> [[UInt8]]? {
        guard isSubdomain(of: zone) else { return nil }
        return Array(labels.dropLast(zone.labels.count))
    }

    /// `label.self`; nil when the result would be too long.
    public func prepending(_ label: some StringProtocol) -> DNSName? {
        DNSName(labels: [Array(label.utf8)] + labels)
    }

    /// Presentation form with the final dot (`www.example.com.`, `.` for the root).
    public var description: String {
        isRoot ? "." : labels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".") + "."
    }

    public static func == (a: DNSName, b: DNSName) -> Bool {
        a.labels.count == b.labels.count && zip(a.labels, b.labels).allSatisfy { equal($0, $1) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(labels.count)
        for label in labels {
            hasher.combine(label.count)
            for byte in label { hasher.combine(Self.lower(byte)) }
        }
    }

    static func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { lower($0) == lower($1) }
    }
}

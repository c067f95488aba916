/// The address family of an IP address or prefix.
public enum IPFamily: String, Sendable, Hashable, Codable, CaseIterable {
    case v4 = "4"
    case v6 = "6"

    /// Length of an address of this family in bits.
    public var bitWidth: Int { self == .v4 ? 32 : 128 }
}

/// An IPv4 address, stored in host byte order.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad notation; rejects leading zeros in multi-digit octets and anything else.
    public init?(_ text: some StringProtocol) {
        // Over the UTF-8 bytes: the proxy parses every endpoint address of every sync.
        var result: UInt32 = 0
        var octets = 0
        var part: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 1 && leadingZero { return nil }
                if digits == 0 { leadingZero = byte == UInt8(ascii: "0") }
                digits += 1
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                guard digits <= 3, part <= 255 else { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, octets < 3 else { return nil }
                result = result << 8 | part
                octets += 1
                part = 0
                digits = 0
            default:
                return nil
            }
        }
        guard octets == 3, digits > 0 else { return nil }
        value = result << 8 | part
    }

    /// Network byte order bytes.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}

/// An IPv6 address, stored as two 64-bit halves in host byte order.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses RFC 4291 text forms, including `::` compression and a trailing dotted quad.
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII }) else { return nil }
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        let halves = Self.splitDoubleColon(s)
        guard halves.count <= 2 else { return nil }
        func parse(_ part: String, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, f) in fields.enumerated() {
                if i == fields.count - 1, allowV4Tail, f.contains(".") {
                    guard let v4 = IPv4Address(f) else { return nil }
                    out.append(UInt16(v4.value >> 16))
                    out.append(UInt16(v4.value & 0xffff))
                    continue
                }
                guard (1...4).contains(f.count), let n = UInt16(f, radix: 16) else { return nil }
                out.append(n)
            }
            return out
        }
        if halves.count == 2 {
            guard let head = parse(halves[0], allowV4Tail: false), let tail = parse(halves[1], allowV4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            groups = head
            tailGroups = tail
            groups += Array(repeating: 0, count: 8 - head.count - tail.count) + tailGroups
        } else {
            guard let all = parse(halves[0], allowV4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(groups[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(groups[i]) }
        high = hi
        low = lo
    }

    /// Splits on every `::`; more than one piece boundary means the text is invalid.
    private static func splitDoubleColon(_ s: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var chars = Array(s)[...]
        while let c = chars.first {
            if c == ":", chars.dropFirst().first == ":" {
                pieces.append(current)
                current = ""
                chars = chars.dropFirst(2)
            } else {
                current.append(c)
                chars = chars.dropFirst()
            }
        }
        pieces.append(current)
        return pieces
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let a = Array(bytes)
        high = a[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = a[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Network byte order bytes.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(high >> (56 - 8 * UInt64($0)) & 0xff) }
            + (0..<8).map { UInt8(low >> (56 - 8 * UInt64($0)) & 0xff) }
    }

    var groups: [UInt16] {
        (0..<4).map { UInt16(high >> (48 - 16 * UInt64($0)) & 0xffff) }
            + (0..<4).map { UInt16(low >> (48 - 16 * UInt64($0)) & 0xffff) }
    }

    /// RFC 5952 canonical text: lowercase, longest run of two or more zero groups compressed.
    public var description: String {
        let g = groups
        var bestStart = -1
        var bestLen = 0
        var i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 {
                    bestStart = i
                    bestLen = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    public static func < (l: Self, r: Self) -> Bool { (l.high, l.low) < (r.high, r.low) }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: some StringProtocol) {
        if let a = IPv4Address(text) {
            self = .v4(a)
        } else if let a = IPv6Address(text) {
            self = .v6(a)
        } else {
            return nil
        }
    }

    public init?(bytes: some Collection<UInt8>) {
        if let a = IPv4Address(bytes: bytes) {
            self = .v4(a)
        } else if let a = IPv6Address(bytes: bytes) {
            self = .v6(a)
        } else {
            return nil
        }
    }

    public var family: IPFamily {
        switch self {
        case .v4: .v4
        case .v6: .v6
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    public var isIPv4: Bool { family == .v4 }
    public var isIPv6: Bool { family == .v6 }

    /// The address as an unsigned 128-bit number (IPv4 in the low 32 bits), for arithmetic.
    public var numeric: UInt128 {
        switch self {
        case .v4(let a): UInt128(a.value)
        case .v6(let a): UInt128(a.high) << 64 | UInt128(a.low)
        }
    }

    /// Builds an address of `family` from a number; bits beyond the family's width are dropped.
    public init(family: IPFamily, numeric: UInt128) {
        switch family {
        case .v4: self = .v4(IPv4Address(UInt32(truncatingIfNeeded: numeric)))
        case .v6:
            self = .v6(
                IPv6Address(high: UInt64(truncatingIfNeeded: numeric >> 64), low: UInt64(truncatingIfNeeded: numeric)))
        }
    }

    /// The address `n` places after this one, wrapping within the family.
    public func advanced(by n: Int) -> IPAddress {
        let width = family.bitWidth
        let mask: UInt128 = width == 128 ? ~0 : (UInt128(1) << UInt128(width)) - 1
        let v = n >= 0 ? numeric &+ UInt128(n) : numeric &- UInt128(-n)
        return IPAddress(family: family, numeric: v & mask)
    }

    public static func < (l: Self, r: Self) -> Bool {
        if l.family != r.family { return l.family == .v4 }
        return l.numeric < r.numeric
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let a = IPAddress(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not an IP address")
        }
        self = a
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

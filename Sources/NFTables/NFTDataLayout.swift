import WeftNet

/// The kernel's byte form of a set's keys (or a map's values), read from the set's `typeof` or `type` text, for
/// writing elements over netlink without nft's parser (`NFTNetlink`).
///
/// What nft itself sends (`nft --debug=netlink`, src/netlink.c `netlink_gen_concat_data`): addresses and ports in
/// network byte order, `numgen` and marks in host byte order; in a concatenation every field padded with zeros to
/// 4 bytes (a register's width), a lone field not padded. A concatenation in an interval set (the kernel's pipapo)
/// carries each element twice: the key with every field's lower bound and a key end with every upper bound.
struct NFTDataLayout: Sendable, Hashable {
    enum Field: Sendable, Hashable {
        case ipv4, ipv6, proto, port, hostU32

        var length: Int {
            switch self {
            case .ipv4: 4
            case .ipv6: 16
            case .proto: 1
            case .port: 2
            case .hostU32: 4
            }
        }
    }

    var fields: [Field]

    /// The layout of `text` (`ip daddr . meta l4proto . th dport`, `ipv4_addr . inet_service`), or nil when a part
    /// is not one this encoder knows (the caller then uses nft's text path).
    init?(_ text: String) {
        var fields: [Field] = []
        for part in text.split(separator: " . ").map({ $0.trimmingSpaces }) {
            guard let field = Self.field(part) else { return nil }
            fields.append(field)
        }
        guard !fields.isEmpty else { return nil }
        self.fields = fields
    }

    private static func field(_ part: Substring) -> Field? {
        switch part {
        case "ip saddr", "ip daddr", "ipv4_addr": return .ipv4
        case "ip6 saddr", "ip6 daddr", "ipv6_addr": return .ipv6
        case "meta l4proto", "ip protocol", "ip6 nexthdr", "inet_proto": return .proto
        case "th dport", "th sport", "tcp dport", "tcp sport", "udp dport", "udp sport", "sctp dport", "sctp sport",
            "inet_service":
            return .port
        case "meta mark", "ct mark", "mark": return .hostU32
        default: return part.hasPrefix("numgen ") ? .hostU32 : nil
        }
    }

    var isConcatenation: Bool { fields.count > 1 }

    /// Bytes of the whole key or value.
    var length: Int { isConcatenation ? fields.reduce(0) { $0 + ($1.length + 3) & ~3 } : fields[0].length }

    struct EncodingError: Error, CustomStringConvertible {
        var description: String
    }

    /// The bytes of `text` (`10.0.0.1 . tcp . 80`), and of its upper bounds when `interval` (prefixes and
    /// ranges allowed in every field then). Parsed as UTF-8 bytes: this runs once per element, 100,000 times in
    /// a big full sync.
    func encode(_ text: String, interval: Bool) throws -> (key: [UInt8], end: [UInt8]?) {
        var copy = text
        return try copy.withUTF8 { try encode(utf8: $0, interval: interval, text: text) }
    }

    private func encode(utf8 b: UnsafeBufferPointer<UInt8>, interval: Bool, text: String) throws
        -> (key: [UInt8], end: [UInt8]?)
    {
        var key: [UInt8] = []
        var end: [UInt8] = []
        key.reserveCapacity(length)
        if interval { end.reserveCapacity(length) }
        var start = 0
        for (index, field) in fields.enumerated() {
            // Fields are separated by " . " (an IPv4 address has dots without spaces).
            var stop = b.count
            if index < fields.count - 1 {
                var i = start
                stop = -1
                while i + 2 < b.count {
                    if b[i] == 0x20, b[i + 1] == 0x2e, b[i + 2] == 0x20 {
                        stop = i
                        break
                    }
                    i += 1
                }
                guard stop >= 0 else {
                    throw EncodingError(description: "\(text): fewer fields than the set's \(fields.count)")
                }
            }
            guard let (low, high) = Self.bounds(field, b, start, stop) else {
                let part = String(decoding: UnsafeBufferPointer(rebasing: b[start..<stop]), as: UTF8.self)
                throw EncodingError(description: "\(part) is not a \(field) value (in \(text))")
            }
            if !interval, low != high {
                throw EncodingError(description: "\(text): a range in a set without intervals")
            }
            key += low
            if interval { end += high }
            if isConcatenation {
                let pad = (4 - field.length & 3) & 3
                for _ in 0..<pad {
                    key.append(0)
                    if interval { end.append(0) }
                }
            }
            start = stop + 3
        }
        if start < b.count {
            throw EncodingError(description: "\(text): more fields than the set's \(fields.count)")
        }
        return (key, interval ? end : nil)
    }

    /// The lower and upper bound of one field's text `b[from..<to]`, nil when it is not a value of `field`.
    private static func bounds(_ field: Field, _ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int)
        -> ([UInt8], [UInt8])?
    {
        guard from < to else { return nil }
        switch field {
        case .ipv4:
            guard let (low, high) = ipv4Range(b, from, to) else { return nil }
            return (bigEndianBytes(low), bigEndianBytes(high))
        case .ipv6:
            let text = String(decoding: UnsafeBufferPointer(rebasing: b[from..<to]), as: UTF8.self)
            return ipv6Range(text[...])
        case .proto:
            if let value = number(b, from, to), value <= 255 { return ([UInt8(value)], [UInt8(value)]) }
            let name = String(decoding: UnsafeBufferPointer(rebasing: b[from..<to]), as: UTF8.self)
            let names: [String: UInt8] = ["tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmpv6": 58, "udplite": 136]
            return names[name].map { ([$0], [$0]) }
        case .port:
            guard let (low, high) = range(b, from, to), high <= 65535 else { return nil }
            return ([UInt8(low >> 8), UInt8(low & 0xff)], [UInt8(high >> 8), UInt8(high & 0xff)])
        case .hostU32:
            guard let (low, high) = range(b, from, to), high <= Int(UInt32.max) else { return nil }
            return (withUnsafeBytes(of: UInt32(low)) { Array($0) }, withUnsafeBytes(of: UInt32(high)) { Array($0) })
        }
    }

    private static func bigEndianBytes(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    /// A decimal (or `0x` hexadecimal) number.
    private static func number(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
        guard from < to else { return nil }
        var value = 0
        if to - from > 2, b[from] == 0x30, b[from + 1] == 0x78 {
            for i in (from + 2)..<to {
                let c = b[i]
                let digit: Int
                switch c {
                case 0x30...0x39: digit = Int(c - 0x30)
                case 0x61...0x66: digit = Int(c - 0x61 + 10)
                case 0x41...0x46: digit = Int(c - 0x41 + 10)
                default: return nil
                }
                value = value * 16 + digit
                if value > Int(UInt32.max) { return nil }
            }
            return value
        }
        for i in from..<to {
            let c = b[i]
            guard c >= 0x30, c <= 0x39 else { return nil }
            value = value * 10 + Int(c - 0x30)
            if value > Int(UInt32.max) { return nil }
        }
        return value
    }

    /// `N` or `N-M`.
    private static func range(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> (Int, Int)? {
        if let dash = (from..<to).first(where: { b[$0] == 0x2d }) {
            guard let low = number(b, from, dash), let high = number(b, dash + 1, to), low <= high else { return nil }
            return (low, high)
        }
        return number(b, from, to).map { ($0, $0) }
    }

    /// A dotted quad.
    private static func ipv4(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> UInt32? {
        var value: UInt32 = 0
        var part = 0
        var digits = 0
        var dots = 0
        for i in from..<to {
            let c = b[i]
            if c == 0x2e {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | UInt32(part)
                part = 0
                digits = 0
                dots += 1
            } else if c >= 0x30, c <= 0x39 {
                // No leading zeros (inet_pton refuses them too).
                if digits == 1 && part == 0 { return nil }
                part = part * 10 + Int(c - 0x30)
                digits += 1
                guard part <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | UInt32(part)
    }

    /// An address, `address/length` or `low-high`.
    private static func ipv4Range(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> (UInt32, UInt32)? {
        for i in from..<to {
            if b[i] == 0x2f {
                guard let address = ipv4(b, from, i), let length = number(b, i + 1, to), length <= 32 else {
                    return nil
                }
                let mask: UInt32 = length == 0 ? 0 : ~0 << (32 - length)
                return (address & mask, address | ~mask)
            }
            if b[i] == 0x2d {
                guard let low = ipv4(b, from, i), let high = ipv4(b, i + 1, to), low <= high else { return nil }
                return (low, high)
            }
        }
        return ipv4(b, from, to).map { ($0, $0) }
    }

    private static func ipv6Range(_ text: Substring) -> ([UInt8], [UInt8])? {
        if text.contains("/") {
            guard let prefix = IPPrefix(text), prefix.family == .v6 else { return nil }
            let hostBits = 128 - prefix.length
            let low = (prefix.address.numeric >> hostBits) << hostBits
            let high = hostBits == 0 ? low : low | (((1 as UInt128) << hostBits) - 1)
            return (IPAddress(family: .v6, numeric: low).bytes, IPAddress(family: .v6, numeric: high).bytes)
        }
        if let dash = text.firstIndex(of: "-") {
            guard let low = IPAddress(text[..<dash]), let high = IPAddress(text[text.index(after: dash)...]),
                low.family == .v6, high.family == .v6, low <= high
            else { return nil }
            return (low.bytes, high.bytes)
        }
        guard let address = IPAddress(text), address.family == .v6 else { return nil }
        return (address.bytes, address.bytes)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

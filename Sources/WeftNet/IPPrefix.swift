/// An address with a prefix length, as in `10.22.0.5/24` or `fd00::/64`.
///
/// The address need not be the network address: CNI results carry interface addresses in this form.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible, Codable {
    public var address: IPAddress
    public var length: Int

    public init(address: IPAddress, length: Int) {
        precondition(length >= 0 && length <= address.family.bitWidth, "prefix length out of range")
        self.address = address
        self.length = length
    }

    /// Parses `ADDRESS/LENGTH`; a bare address gets the full length of its family.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let addr = IPAddress(parts[0]) else { return nil }
        var len = addr.family.bitWidth
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let l = Int(parts[1]),
                l <= addr.family.bitWidth
            else { return nil }
            len = l
        }
        self.init(address: addr, length: len)
    }

    public var family: IPFamily { address.family }

    /// The netmask as a number of the family's width.
    var maskNumeric: UInt128 {
        let width = family.bitWidth
        if length == 0 { return 0 }
        let ones: UInt128 = width == 128 ? ~0 : (UInt128(1) << UInt128(width)) - 1
        return ones & ~((UInt128(1) << UInt128(width - length)) &- 1)
    }

    /// The netmask as an address (`255.255.255.0`).
    public var netmask: IPAddress { IPAddress(family: family, numeric: maskNumeric) }

    /// The prefix with host bits cleared.
    public var network: IPPrefix {
        IPPrefix(address: IPAddress(family: family, numeric: address.numeric & maskNumeric), length: length)
    }

    /// Whether the address is the network address (no host bits set).
    public var isNetworkAddress: Bool { address.numeric & ~maskNumeric == 0 }

    /// The last address of the network (the IPv4 broadcast address).
    public var lastAddress: IPAddress {
        let width = family.bitWidth
        let ones: UInt128 = width == 128 ? ~0 : (UInt128(1) << UInt128(width)) - 1
        return IPAddress(family: family, numeric: (address.numeric & maskNumeric) | (ones & ~maskNumeric))
    }

    /// Number of addresses in the network, saturating at `UInt128.max`.
    public var size: UInt128 {
        let hostBits = family.bitWidth - length
        return hostBits >= 128 ? .max : UInt128(1) << UInt128(hostBits)
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && other.numeric & maskNumeric == address.numeric & maskNumeric
    }

    /// Whether the two networks share any address.
    public func overlaps(_ other: IPPrefix) -> Bool {
        guard other.family == family else { return false }
        return contains(other.address) || other.contains(address)
    }

    public var description: String { "\(address)/\(length)" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let p = IPPrefix(s), s.contains("/") else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not a CIDR prefix")
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

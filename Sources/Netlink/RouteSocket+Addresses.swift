import CWeftLinux
import Glibc
import WeftNet

extension RouteSocket {
    static func familyCode(_ family: IPFamily?) -> UInt8 {
        switch family {
        case .v4?: UInt8(AF_INET)
        case .v6?: UInt8(AF_INET6)
        case nil: UInt8(AF_UNSPEC)
        }
    }

    static func ipFamily(_ code: UInt8) -> IPFamily? {
        switch Int32(code) {
        case AF_INET: .v4
        case AF_INET6: .v6
        default: nil
        }
    }

    private static func addressMessage(_ type: Int, flags: Int32, prefix: IPPrefix, index: Int32) -> MessageBuilder {
        var m = MessageBuilder(type: UInt16(type), flags: UInt16(flags))
        var header = ifaddrmsg()
        header.ifa_family = familyCode(prefix.family)
        header.ifa_prefixlen = UInt8(prefix.length)
        header.ifa_index = UInt32(bitPattern: index)
        m.append(raw: header)
        m.attribute(Int(IFA_LOCAL), bytes: prefix.address.bytes)
        m.attribute(Int(IFA_ADDRESS), bytes: prefix.address.bytes)
        return m
    }

    /// The addresses of the namespace, optionally only of one interface and one family.
    public func addresses(index: Int32? = nil, family: IPFamily? = nil) throws -> [AddressEntry] {
        var m = MessageBuilder(type: UInt16(RTM_GETADDR), flags: 0)
        var header = ifaddrmsg()
        header.ifa_family = Self.familyCode(family)
        m.append(raw: header)
        var out: [AddressEntry] = []
        for message in try dump(m, { "RTM_GETADDR dump" }) {
            guard Int(message.type) == Int(RTM_NEWADDR), let h = loadStruct(message.payload, as: ifaddrmsg.self),
                let messageFamily = Self.ipFamily(h.ifa_family)
            else { continue }
            let entryIndex = Int32(bitPattern: h.ifa_index)
            if let index, entryIndex != index { continue }
            if let family, messageFamily != family { continue }
            let a = Attributes(after: ifaddrmsg.self, in: message.payload)
            guard let raw = a[Int(IFA_LOCAL)] ?? a[Int(IFA_ADDRESS)], let address = IPAddress(bytes: raw),
                address.family == messageFamily, Int(h.ifa_prefixlen) <= messageFamily.bitWidth
            else { continue }
            out.append(
                AddressEntry(
                    index: entryIndex, prefix: IPPrefix(address: address, length: Int(h.ifa_prefixlen)),
                    scope: h.ifa_scope, flags: a.u32(Int(IFA_FLAGS)) ?? UInt32(h.ifa_flags)))
        }
        return out
    }

    /// Adds `prefix` (an interface address such as `10.22.0.5/24`) to the interface. IPv4 addresses get the
    /// broadcast address of their network (`IFA_BROADCAST`); `noDAD` skips IPv6 duplicate address detection so the
    /// address is usable at once. Fails with `EEXIST` if the address is already there.
    public func addAddress(index: Int32, prefix: IPPrefix, noDAD: Bool = false) throws {
        var m = Self.addressMessage(
            Int(RTM_NEWADDR), flags: NLM_F_CREATE | NLM_F_EXCL, prefix: prefix, index: index)
        if prefix.family == .v4, prefix.length < 31 {
            m.attribute(Int(IFA_BROADCAST), bytes: prefix.lastAddress.bytes)
        }
        if noDAD { m.attribute(Int(IFA_FLAGS), u32: UInt32(IFA_F_NODAD)) }
        try request(m, { "RTM_NEWADDR \(prefix) ifindex \(index)" })
    }

    /// Removes an address. Fails with `EADDRNOTAVAIL` if it is not there.
    public func deleteAddress(index: Int32, prefix: IPPrefix) throws {
        let m = Self.addressMessage(Int(RTM_DELADDR), flags: 0, prefix: prefix, index: index)
        try request(m, { "RTM_DELADDR \(prefix) ifindex \(index)" })
    }
}

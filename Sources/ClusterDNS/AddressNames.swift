import DNS
import WeftNet

/// Names made from addresses: reverse-lookup names (RFC 1035 §3.5, RFC 3596 §2.5) and the dashed labels of
/// generated endpoint hostnames and pod names.
enum AddressNames {
    static let inAddrArpa = DNSName("in-addr.arpa")!
    static let ip6Arpa = DNSName("ip6.arpa")!

    /// `d.c.b.a.in-addr.arpa.`, or the 32 nibbles of an IPv6 address in reverse, lowest first, `…ip6.arpa.`
    /// (specification §2.3.3: the address written without any simplification, as a sequence of nibbles in reverse).
    static func reverseName(of address: IPAddress) -> DNSName {
        let hex = Array("0123456789abcdef".utf8)
        let labels: [[UInt8]]
        switch address {
        case .v4:
            labels = address.bytes.reversed().map { Array(String($0).utf8) }
        case .v6:
            labels = address.bytes.reversed().flatMap { [[hex[Int($0 & 0xf)]], [hex[Int($0 >> 4)]]] }
        }
        let apex = address.isIPv4 ? inAddrArpa : ip6Arpa
        return DNSName(labels: labels + apex.labels)!
    }

    /// The reverse apex (`in-addr.arpa.` or `ip6.arpa.`) a name lies under, if any.
    static func reverseApex(of name: DNSName) -> DNSName? {
        if name.isSubdomain(of: inAddrArpa) { return inAddrArpa }
        if name.isSubdomain(of: ip6Arpa) { return ip6Arpa }
        return nil
    }

    /// The generated hostname of an endpoint without one (the specification leaves its form open, §2.1): the
    /// address with `.` or `:` replaced by `-`, as CoreDNS does (`10-244-1-5`, `fd00--5`).
    static func dashed(_ address: IPAddress) -> String {
        String(address.description.map { $0 == "." || $0 == ":" ? "-" : $0 })
    }

    /// The address a pod-name label spells (§2.6 `a-b-c-d`; IPv6 as CoreDNS reads it: any other dashed form, `-`
    /// for `:`). Nil when it spells none.
    static func address(dashed label: String) -> IPAddress? {
        let dashes = label.count { $0 == "-" }
        if dashes == 3 && !label.contains("--") {
            return IPv4Address(label.replacing("-", with: ".")).map(IPAddress.v4)
        }
        return IPv6Address(label.replacing("-", with: ":")).map(IPAddress.v6)
    }
}

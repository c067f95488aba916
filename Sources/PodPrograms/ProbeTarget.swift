import Glibc

/// `HOST:PORT` as `weft probe` takes it: HOST an IPv4 address, an IPv6 address in brackets (`[fd00::1]:80`), or a
/// name resolved with `getaddrinfo` (so `/etc/hosts` and the pod's resolv.conf apply).
public struct ProbeTarget: Sendable, Equatable, CustomStringConvertible {
    /// The host as written, without brackets.
    public var host: String
    /// The port, 1–65535.
    public var port: UInt16
    /// True when the host was written in brackets, i.e. it is an IPv6 literal.
    public var bracketed: Bool

    /// Splits `text` into host and port; the same rules as Go's `net.SplitHostPort`, with a numeric port.
    public init(parsing text: String) throws(ProbeUsageError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ProbeUsageError("\"\(text)\": expected [IPv6]:PORT")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
            bracketed = true
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ProbeUsageError("\"\(text)\": missing port, expected HOST:PORT")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            guard !hostPart.contains(":") else {
                throw ProbeUsageError("\"\(text)\": too many colons; write an IPv6 address in brackets, [ADDRESS]:PORT")
            }
            bracketed = false
        }
        guard !hostPart.isEmpty else { throw ProbeUsageError("\"\(text)\": missing host") }
        guard portPart.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let port = UInt16(portPart),
            port > 0
        else {
            throw ProbeUsageError("\"\(text)\": port must be a number from 1 to 65535")
        }
        host = String(hostPart)
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 host: the form used in messages and in the HTTP `Host` header.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The target's socket addresses in `getaddrinfo`'s order, each with the port set.
    func resolve(socketType: Int32) throws(ProbeFailure) -> [ResolvedAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = socketType
        if bracketed { hints.ai_flags = AI_NUMERICHOST }
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0 else {
            let reason = rc == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(rc))
            throw .other("DNS: cannot resolve \"\(host)\": \(reason)")
        }
        defer { freeaddrinfo(list) }
        var addresses: [ResolvedAddress] = []
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard let sa = info.ai_addr, info.ai_family == AF_INET || info.ai_family == AF_INET6 else { continue }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(info.ai_addrlen)))
            }
            let address = ResolvedAddress(storage: storage, length: info.ai_addrlen, port: port)
            if !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else { throw .other("DNS: \"\(host)\" has no IPv4 or IPv6 address") }
        return addresses
    }
}

/// One address a target resolved to, ready for `connect`.
struct ResolvedAddress: Equatable {
    var storage: sockaddr_storage
    var length: socklen_t

    init(storage: sockaddr_storage, length: socklen_t, port: UInt16) {
        self.storage = storage
        self.length = length
        withUnsafeMutableBytes(of: &self.storage) { raw in
            // sin_port and sin6_port sit at the same offset, right after the family.
            raw.storeBytes(of: port.bigEndian, toByteOffset: MemoryLayout<sa_family_t>.size, as: UInt16.self)
        }
    }

    var family: Int32 { Int32(storage.ss_family) }

    /// The address as `ip:port` (`[ip]:port` for IPv6), for messages.
    var text: String {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw in
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let port = UInt16(bigEndian: raw.load(fromByteOffset: MemoryLayout<sa_family_t>.size, as: UInt16.self))
            if family == AF_INET6 {
                let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                inet_ntop(AF_INET6, raw.baseAddress! + offset, &buffer, socklen_t(buffer.count))
                return "[\(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })]:\(port)"
            }
            let offset = MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
            inet_ntop(AF_INET, raw.baseAddress! + offset, &buffer, socklen_t(buffer.count))
            return "\(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }):\(port)"
        }
    }

    static func == (lhs: ResolvedAddress, rhs: ResolvedAddress) -> Bool {
        var l = lhs.storage
        var r = rhs.storage
        return lhs.length == rhs.length && memcmp(&l, &r, Int(lhs.length)) == 0
    }
}

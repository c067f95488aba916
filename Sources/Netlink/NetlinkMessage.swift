import CWeftLinux

/// Builds one netlink request: `nlmsghdr`, a family header (`ifinfomsg`, `rtmsg`, …) and rtattrs, 4-byte aligned.
package struct MessageBuilder {
    package private(set) var bytes: [UInt8]

    package static let headerLength = MemoryLayout<nlmsghdr>.size

    package init(type: UInt16, flags: UInt16) {
        bytes = []
        bytes.reserveCapacity(256)
        var header = nlmsghdr()
        header.nlmsg_type = type
        header.nlmsg_flags = flags
        append(raw: header)
    }

    /// Appends the bytes of a C struct (a family header), then pads to 4 bytes.
    package mutating func append<T>(raw value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
        pad()
    }

    private mutating func pad() {
        while bytes.count & 3 != 0 { bytes.append(0) }
    }

    private mutating func writeU16(_ value: UInt16, at offset: Int) {
        withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    private mutating func writeU32(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    package mutating func attribute(_ type: Int, bytes payload: some Collection<UInt8>) {
        let length = 4 + payload.count
        precondition(length <= Int(UInt16.max), "netlink attribute too long")
        let start = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
        writeU16(UInt16(length), at: start)
        writeU16(UInt16(type), at: start + 2)
        bytes.append(contentsOf: payload)
        pad()
    }

    package mutating func attribute(_ type: Int, u8 value: UInt8) { attribute(type, bytes: [value]) }

    package mutating func attribute(_ type: Int, u16 value: UInt16) {
        withUnsafeBytes(of: value) { attribute(type, bytes: Array($0)) }
    }

    package mutating func attribute(_ type: Int, u32 value: UInt32) {
        withUnsafeBytes(of: value) { attribute(type, bytes: Array($0)) }
    }

    /// A 16-bit value in network byte order (ports).
    package mutating func attribute(_ type: Int, be16 value: UInt16) {
        attribute(type, bytes: [UInt8(value >> 8), UInt8(value & 0xff)])
    }

    /// A NUL-terminated string.
    package mutating func attribute(_ type: Int, string value: String) {
        attribute(type, bytes: Array(value.utf8) + [0])
    }

    /// A struct payload (e.g. `bridge_vlan_info`).
    package mutating func attribute<T>(_ type: Int, raw value: T) {
        withUnsafeBytes(of: value) { attribute(type, bytes: Array($0)) }
    }

    /// A nested attribute, flagged `NLA_F_NESTED`.
    package mutating func nested(_ type: Int, _ body: (inout MessageBuilder) -> Void) {
        let start = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
        body(&self)
        writeU16(UInt16(bytes.count - start), at: start)
        writeU16(UInt16(type) | UInt16(NLA_F_NESTED), at: start + 2)
    }

    /// The finished message with its length and sequence number filled in.
    package func finished(sequence: UInt32) -> [UInt8] {
        var copy = self
        copy.writeU32(UInt32(bytes.count), at: 0)
        copy.writeU32(sequence, at: 8)
        return copy.bytes
    }
}

/// One received netlink message.
package struct NetlinkMessage {
    package var type: UInt16
    package var flags: UInt16
    package var sequence: UInt32
    package var portID: UInt32
    /// The bytes after the `nlmsghdr`.
    package var payload: ArraySlice<UInt8>

    /// Splits a datagram into messages; a malformed tail is ignored.
    package static func parse(_ datagram: UnsafeRawBufferPointer) -> [NetlinkMessage] {
        var out: [NetlinkMessage] = []
        var offset = 0
        let headerLength = MemoryLayout<nlmsghdr>.size
        while offset + headerLength <= datagram.count {
            let header = datagram.loadUnaligned(fromByteOffset: offset, as: nlmsghdr.self)
            let length = Int(header.nlmsg_len)
            guard length >= headerLength, offset + length <= datagram.count else { break }
            let payload = Array(datagram[(offset + headerLength)..<(offset + length)])[...]
            out.append(
                NetlinkMessage(
                    type: header.nlmsg_type, flags: header.nlmsg_flags, sequence: header.nlmsg_seq,
                    portID: header.nlmsg_pid, payload: payload))
            offset += (length + 3) & ~3
        }
        return out
    }
}

/// Reads a C struct from the start of a byte slice, or nil if the slice is too short.
package func loadStruct<T>(_ bytes: ArraySlice<UInt8>, as type: T.Type) -> T? {
    guard bytes.count >= MemoryLayout<T>.size else { return nil }
    return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
}

/// The rtattrs of a message or nested attribute.
package struct Attributes {
    package struct Entry {
        package var type: Int
        package var value: ArraySlice<UInt8>
    }

    package private(set) var entries: [Entry] = []

    /// Parses the attributes in `bytes`; the type is masked with `NLA_TYPE_MASK`.
    package init(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            // NLA_TYPE_MASK: drop NLA_F_NESTED and NLA_F_NET_BYTEORDER.
            let type = (Int(bytes[offset + 2]) | Int(bytes[offset + 3]) << 8) & 0x3fff
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            entries.append(Entry(type: type, value: bytes[(offset + 4)..<(offset + length)]))
            offset += (length + 3) & ~3
        }
    }

    /// Attributes following a family header of type `Header`.
    package init<Header>(after header: Header.Type, in payload: ArraySlice<UInt8>) {
        let skip = (MemoryLayout<Header>.size + 3) & ~3
        self.init(payload.count >= skip ? payload.dropFirst(skip) : [])
    }

    package subscript(type: Int) -> ArraySlice<UInt8>? {
        entries.first(where: { $0.type == type })?.value
    }

    package func all(_ type: Int) -> [ArraySlice<UInt8>] {
        entries.filter { $0.type == type }.map(\.value)
    }

    package func u8(_ type: Int) -> UInt8? { self[type]?.first }

    package func u16(_ type: Int) -> UInt16? {
        guard let v = self[type], v.count >= 2 else { return nil }
        return v.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
    }

    package func u32(_ type: Int) -> UInt32? {
        guard let v = self[type], v.count >= 4 else { return nil }
        return v.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    package func i32(_ type: Int) -> Int32? { u32(type).map { Int32(bitPattern: $0) } }

    package func string(_ type: Int) -> String? {
        guard let v = self[type] else { return nil }
        let end = v.firstIndex(of: 0) ?? v.endIndex
        return String(decoding: v[v.startIndex..<end], as: UTF8.self)
    }

    package func nested(_ type: Int) -> Attributes? { self[type].map { Attributes($0) } }
}

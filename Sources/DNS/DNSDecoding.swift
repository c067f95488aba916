/// Decoding DNS messages from the wire: RFC 1035 §4.1 (header §4.1.1, question §4.1.2, resource records §4.1.3,
/// name compression §4.1.4), RDATA formats of RFC 1035 §3.3–3.4 (NS, CNAME, PTR, MX, TXT, SOA, A), RFC 3596 §2.2
/// (AAAA), RFC 2782 (SRV), EDNS(0)'s OPT pseudo-record of RFC 6891 §6.1, and the hostile-input rules of RFC 1035
/// §4.1.4 (a pointer must point to a prior occurrence), RFC 6891 §6.1.1 (one OPT, in the additional section, owned
/// by the root).
///
/// Every check that fails throws a ``DNSDecodeError`` naming what was wrong and where; nothing traps, whatever the
/// input (`Tests/DNSTests` mutates valid messages 20,000 times to hold it to that).

import WeftNet

/// Why a message could not be decoded. When its 12-byte header was readable, `id`, `opcode` and `isResponse` are
/// set, so a server can answer FORMERR (RFC 1035 §4.1.1) with the same id and opcode, or drop a broken response.
public struct DNSDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message id, when the header was readable.
    public var id: UInt16?
    /// The opcode, when the header was readable.
    public var opcode: Opcode?
    /// The QR bit, when the header was readable (a server should not answer a broken response).
    public var isResponse: Bool?
    /// The RD bit, when the header was readable (a FORMERR answer copies it).
    public var recursionDesired: Bool?
    /// The offset in the message where the problem was found.
    public var offset: Int
    /// What was wrong, e.g. `label of type 0x40 is reserved`.
    public var reason: String

    public init(
        id: UInt16? = nil, opcode: Opcode? = nil, isResponse: Bool? = nil, recursionDesired: Bool? = nil,
        offset: Int, reason: String
    ) {
        self.id = id
        self.opcode = opcode
        self.isResponse = isResponse
        self.recursionDesired = recursionDesired
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        let head = id.map { "message \($0): " } ?? ""
        return "\(head)\(reason) at offset \(offset)"
    }

    /// The FORMERR answer to the message that failed (RFC 1035 §4.1.1): same id and opcode, RD copied, QR set, no
    /// sections. Nil when the header was unreadable or the message was itself a response (answering responses
    /// invites loops; drop them).
    public func formErrResponse() -> DNSMessage? {
        guard let id, let opcode, isResponse == false else { return nil }
        return DNSMessage(
            id: id, isResponse: true, opcode: opcode, recursionDesired: recursionDesired ?? false, rcode: .formErr)
    }
}

extension DNSMessage {
    /// Decodes one message: the bytes must be exactly one message (a UDP payload, or a TCP message without its
    /// two-byte length prefix); bytes after the last record are an error. Input of any `Collection<UInt8>` is
    /// accepted (`[UInt8]`, `ArraySlice<UInt8>`, a NIO `ByteBufferView`); offsets in errors and compression
    /// pointers count from its first byte. Non-array input is copied once into an array.
    ///
    /// Known types decode into their ``RecordData`` case (A, AAAA, NS, CNAME, PTR, MX, TXT, SRV, SOA, whatever the
    /// class); others, and any record with empty RDATA (RFC 2136 deletions), into `.unknown` with their bytes. The
    /// OPT record becomes ``edns`` and its extended response code the upper 8 bits of ``rcode``; its Z bits are
    /// ignored, as is the header's Z bit.
    public init(decoding input: some Collection<UInt8>) throws(DNSDecodeError) {
        let bytes = (input as? [UInt8]) ?? Array(input)
        var reader = WireReader(bytes: bytes)
        self = try reader.message()
    }
}

/// A cursor over a whole message, so that compression pointers can reach back to any earlier offset.
struct WireReader {
    let bytes: [UInt8]
    var offset = 0
    var id: UInt16?
    var opcode: Opcode?
    var isResponse: Bool?
    var recursionDesired: Bool?

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ reason: String, at position: Int? = nil) -> DNSDecodeError {
        DNSDecodeError(
            id: id, opcode: opcode, isResponse: isResponse, recursionDesired: recursionDesired,
            offset: position ?? offset, reason: reason)
    }

    mutating func u8(_ what: @autoclosure () -> String) throws(DNSDecodeError) -> UInt8 {
        guard offset < bytes.count else { throw fail("message ends inside \(what())") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16(_ what: @autoclosure () -> String) throws(DNSDecodeError) -> UInt16 {
        guard bytes.count - offset >= 2 else { throw fail("message ends inside \(what())") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32(_ what: @autoclosure () -> String) throws(DNSDecodeError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw fail("message ends inside \(what())") }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws(DNSDecodeError) -> [UInt8] {
        guard bytes.count - offset >= count else { throw fail("message ends inside \(what())") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A name at the cursor (RFC 1035 §4.1.4). The cursor moves past the name's bytes in place (up to and including
    /// its first pointer), which must not pass `limit`. A pointer must point before the start of the run of labels
    /// it ends (the name's start, or the previous pointer's target), so runs move strictly backwards and no loop
    /// is possible; the name must fit in 255 bytes, labels in 63 (types 0x40 and 0x80 are reserved, RFC 6891 §5).
    mutating func name(_ what: String, limit: Int? = nil) throws(DNSDecodeError) -> DNSName {
        let end = Swift.min(limit ?? bytes.count, bytes.count)
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        var runStart = offset
        var jumped = false
        while true {
            guard position < end || (jumped && position < bytes.count) else {
                throw fail("\(what) runs past the end of its \(limit == nil ? "message" : "data")", at: position)
            }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    if !jumped { offset = position + 1 }
                    return DNSName(validatedLabels: labels)
                }
                let count = Int(length)
                let labelEnd = position + 1 + count
                guard labelEnd <= (jumped ? bytes.count : end) else {
                    throw fail("label of \(what) runs past the end of its data", at: position)
                }
                wireLength += count + 1
                guard wireLength <= DNSName.maxWireLength else {
                    throw fail("\(what) is longer than 255 bytes", at: position)
                }
                labels.append(Array(bytes[position + 1..<labelEnd]))
                position = labelEnd
            case 0xC0:
                guard position + 1 < (jumped ? bytes.count : end) else {
                    throw fail("compression pointer of \(what) is cut off", at: position)
                }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < runStart else {
                    throw fail(
                        "compression pointer of \(what) to offset \(target) does not point backwards (loop or forward "
                            + "pointer)", at: position)
                }
                if !jumped { offset = position + 2 }
                jumped = true
                runStart = target
                position = target
            default:
                throw fail(
                    "label of \(what) has reserved type 0x\(String(length & 0xC0, radix: 16))", at: position)
            }
        }
    }

    mutating func message() throws(DNSDecodeError) -> DNSMessage {
        guard bytes.count >= 12 else {
            throw fail("header is \(bytes.count) bytes, not 12", at: 0)
        }
        let id = try u16("header")
        let flags = try u16("header")
        self.id = id
        let opcode = Opcode(rawValue: UInt8(flags >> 11 & 0xF))
        self.opcode = opcode
        isResponse = flags & 0x8000 != 0
        recursionDesired = flags & 0x0100 != 0
        let counts = [try u16("header"), try u16("header"), try u16("header"), try u16("header")]

        var message = DNSMessage(
            id: id, isResponse: flags & 0x8000 != 0, opcode: opcode, authoritative: flags & 0x0400 != 0,
            truncated: flags & 0x0200 != 0, recursionDesired: flags & 0x0100 != 0,
            recursionAvailable: flags & 0x0080 != 0, authenticData: flags & 0x0020 != 0,
            checkingDisabled: flags & 0x0010 != 0, rcode: ResponseCode(rawValue: flags & 0xF))

        // Every question takes at least 5 bytes and every record 11: a count the message cannot hold fails before
        // anything is allocated for it.
        let minimum = 12 + 5 * Int(counts[0]) + 11 * (Int(counts[1]) + Int(counts[2]) + Int(counts[3]))
        guard minimum <= bytes.count else {
            throw fail(
                "counts (\(counts[0]) questions, \(counts[1]) answers, \(counts[2]) authority, \(counts[3]) "
                    + "additional) need at least \(minimum) bytes, the message has \(bytes.count)", at: 4)
        }

        message.questions.reserveCapacity(Int(counts[0]))
        for index in 0..<Int(counts[0]) {
            let what = "question \(index + 1)"
            let name = try name("name of \(what)")
            let type = try u16(what)
            let qclass = try u16(what)
            message.questions.append(
                Question(name: name, type: RecordType(rawValue: type), class: RecordClass(rawValue: qclass)))
        }
        let answers = try records(count: counts[1], section: "answer", into: &message)
        let authority = try records(count: counts[2], section: "authority", into: &message)
        let additional = try records(count: counts[3], section: "additional", into: &message)
        message.answers = answers
        message.authority = authority
        message.additional = additional
        guard offset == bytes.count else {
            throw fail("\(bytes.count - offset) bytes after the last record")
        }
        return message
    }

    mutating func records(count: UInt16, section: String, into message: inout DNSMessage) throws(DNSDecodeError)
        -> [ResourceRecord]
    {
        var records: [ResourceRecord] = []
        records.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let what = "\(section) record \(index + 1)"
            let start = offset
            let name = try name("owner of \(what)")
            let type = RecordType(rawValue: try u16(what))
            let rclass = try u16(what)
            let ttl = try u32(what)
            let length = Int(try u16(what))
            guard bytes.count - offset >= length else {
                throw fail("RDATA of \(what) (\(length) bytes) runs past the end of the message")
            }
            let dataStart = offset
            let dataEnd = offset + length
            if type == .opt {
                guard section == "additional" else { throw fail("OPT record in the \(section) section", at: start) }
                guard message.edns == nil else { throw fail("more than one OPT record", at: start) }
                guard name.isRoot else { throw fail("OPT record not owned by the root", at: start) }
                message.edns = try edns(payloadSize: rclass, ttl: ttl, end: dataEnd, what: what)
                message.rcode = ResponseCode(rawValue: UInt16(ttl >> 24) << 4 | message.rcode.rawValue & 0xF)
                continue
            }
            let data = try recordData(type: type, end: dataEnd, what: what)
            guard offset == dataEnd else {
                throw fail(
                    "RDATA of \(what) is \(length) bytes but its \(type) data takes \(offset - dataStart)",
                    at: dataStart)
            }
            records.append(
                ResourceRecord(name: name, class: RecordClass(rawValue: rclass), ttl: ttl, data: data))
        }
        return records
    }

    mutating func edns(payloadSize: UInt16, ttl: UInt32, end: Int, what: String) throws(DNSDecodeError) -> EDNS {
        var options: [EDNSOption] = []
        while offset < end {
            guard end - offset >= 4 else { throw fail("EDNS option header of \(what) is cut off") }
            let code = try u16(what)
            let length = Int(try u16(what))
            guard end - offset >= length else { throw fail("EDNS option \(code) runs past the OPT record's data") }
            options.append(EDNSOption(code: code, data: try take(length, what)))
        }
        return EDNS(
            udpPayloadSize: payloadSize, version: UInt8(ttl >> 16 & 0xFF), dnssecOK: ttl & 0x8000 != 0,
            options: options)
    }

    mutating func recordData(type: RecordType, end: Int, what: String) throws(DNSDecodeError) -> RecordData {
        let length = end - offset
        if length == 0 { return .unknown(type: type, bytes: []) }
        switch type {
        case .a:
            guard length == 4 else { throw fail("A record \(what) has \(length) bytes of address, not 4") }
            return .a(.v4(IPv4Address(bytes: try take(4, what))!))
        case .aaaa:
            guard length == 16 else { throw fail("AAAA record \(what) has \(length) bytes of address, not 16") }
            return .aaaa(.v6(IPv6Address(bytes: try take(16, what))!))
        case .ns: return .ns(try name("NS name of \(what)", limit: end))
        case .cname: return .cname(try name("CNAME target of \(what)", limit: end))
        case .ptr: return .ptr(try name("PTR name of \(what)", limit: end))
        case .mx:
            guard length >= 3 else { throw fail("MX data of \(what) is \(length) bytes") }
            let preference = try u16(what)
            return .mx(preference: preference, exchange: try name("MX exchange of \(what)", limit: end))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(try u8(what))
                guard end - offset >= count else { throw fail("TXT string of \(what) runs past its data") }
                strings.append(try take(count, what))
            }
            return .txt(strings)
        case .srv:
            guard length >= 7 else { throw fail("SRV data of \(what) is \(length) bytes") }
            let priority = try u16(what)
            let weight = try u16(what)
            let port = try u16(what)
            return .srv(
                priority: priority, weight: weight, port: port, target: try name("SRV target of \(what)", limit: end))
        case .soa:
            let primary = try name("SOA primary of \(what)", limit: end)
            let mailbox = try name("SOA mailbox of \(what)", limit: end)
            guard end - offset >= 20 else { throw fail("SOA data of \(what) is cut off") }
            return .soa(
                SOAData(
                    primary: primary, mailbox: mailbox, serial: try u32(what), refresh: try u32(what),
                    retry: try u32(what), expire: try u32(what), minimum: try u32(what)))
        default:
            return .unknown(type: type, bytes: try take(length, what))
        }
    }
}

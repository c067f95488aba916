/// Encoding DNS messages for the wire: RFC 1035 §4.1 (format) and §4.1.4 (name compression), RFC 2782 and RFC 3597
/// §4 (no compression of SRV targets or of names in unknown types), RFC 6891 §6.1 (the OPT record, extended
/// response code) and §7 (an OPT in every response to a query that had one, truncated or not), RFC 2181 §9 and
/// RFC 1035 §4.2.1 (truncation: whole RRsets, TC only when the answer or authority section lost data).
///
/// Compression is byte-exact, so case-preserving: a name ends in a pointer only to an earlier suffix spelled with
/// exactly the same bytes, and every name decodes with the spelling it was given. (Matching without regard to case
/// would save bytes, but a later name would then read back in the first one's spelling — which is what `dig` shows
/// for servers that do.) To compress answers against a question sent in 0x20 mixed case, give their owners the
/// question's spelling. Only suffixes starting below offset 0x4000 become pointer targets; names in SRV targets
/// are written in full but can be pointed to.

extension DNSMessage {
    /// The message on the wire, names compressed.
    ///
    /// With `maxSize` (512 for UDP without EDNS, ``udpResponseLimit(serverPayloadSize:)`` for UDP with it, 65,535
    /// for TCP) the result is never longer: room is kept for the OPT record first; additional RRsets that do not
    /// fit are dropped from the end without setting TC; when an answer or authority RRset does not fit, the
    /// message ends with the RRsets before it (later sections left out) and TC is set. An RRset is a run of
    /// consecutive records with the same owner (ignoring case), type and class. Limits below 12 are taken as 12;
    /// when not even the OPT record fits it is left out.
    ///
    /// Without ``edns`` only the low 4 bits of ``rcode`` can be sent. Records whose data cannot be represented (an
    /// `.a` holding an IPv6 address or an `.aaaa` an IPv4 one, RDATA over 65,535 bytes, an `.unknown` OPT: EDNS is
    /// ``edns``) are left out; TXT strings
    /// over 255 bytes are split, and `.txt([])` is sent as one empty string (RFC 1035 §3.3.14 wants one or more).
    public func encode(maxSize: Int? = nil) -> [UInt8] {
        let limit = maxSize.map { Swift.max($0, 12) } ?? Int.max
        var writer = WireWriter()
        writer.bytes.reserveCapacity(Swift.min(limit, 512))
        writer.bytes.append(contentsOf: repeatElement(0, count: 12))
        var opt = edns.map { Self.optRecord($0, rcode: rcode) }
        if let record = opt, 12 + record.count > limit { opt = nil }
        let reserve = opt?.count ?? 0
        var truncated = self.truncated
        var counts = [0, 0, 0, 0]
        var complete = true

        for question in questions {
            let mark = writer.mark
            writer.name(question.name, compress: true)
            writer.u16(question.type.rawValue)
            writer.u16(question.class.rawValue)
            if writer.bytes.count + reserve > limit || counts[0] == 0xFFFF {
                writer.rollback(to: mark)
                truncated = true
                complete = false
                break
            }
            counts[0] += 1
        }
        for (section, records) in [answers, authority, additional].enumerated() where complete {
            var start = records.startIndex
            while start < records.endIndex {
                var end = start + 1
                while end < records.endIndex && records[end].name == records[start].name
                    && records[end].type == records[start].type && records[end].class == records[start].class
                {
                    end += 1
                }
                let mark = writer.mark
                var written = 0
                for record in records[start..<end] where writer.record(record) { written += 1 }
                if writer.bytes.count + reserve > limit || counts[section + 1] + written > 0xFFFF {
                    writer.rollback(to: mark)
                    if section < 2 { truncated = true }
                    complete = false
                    break
                }
                counts[section + 1] += written
                start = end
            }
        }
        if let opt {
            writer.bytes.append(contentsOf: opt)
            counts[3] += 1
        }

        var flags = UInt16(opcode.rawValue & 0xF) << 11 | rcode.rawValue & 0xF
        if isResponse { flags |= 0x8000 }
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        if authenticData { flags |= 0x0020 }
        if checkingDisabled { flags |= 0x0010 }
        let header = [Int(id), Int(flags)] + counts
        for (index, value) in header.enumerated() {
            writer.bytes[2 * index] = UInt8(value >> 8)
            writer.bytes[2 * index + 1] = UInt8(value & 0xFF)
        }
        return writer.bytes
    }

    /// The OPT pseudo-record (RFC 6891 §6.1.2–6.1.3): root owner, payload size as class, extended rcode, version
    /// and DO in the TTL. Options that would take RDATA past 65,535 bytes are left out.
    static func optRecord(_ edns: EDNS, rcode: ResponseCode) -> [UInt8] {
        var writer = WireWriter()
        writer.bytes.append(0)
        writer.u16(RecordType.opt.rawValue)
        writer.u16(edns.udpPayloadSize)
        writer.u32(UInt32(rcode.rawValue >> 4 & 0xFF) << 24 | UInt32(edns.version) << 16 | (edns.dnssecOK ? 0x8000 : 0))
        var data: [UInt8] = []
        for option in edns.options where data.count + 4 + option.data.count <= 0xFFFF {
            data += [UInt8(option.code >> 8), UInt8(option.code & 0xFF)]
            data += [UInt8(option.data.count >> 8), UInt8(option.data.count & 0xFF)]
            data += option.data
        }
        writer.u16(UInt16(data.count))
        writer.bytes += data
        return writer.bytes
    }

    /// The skeleton of the response to this query (RFC 1035 §4.1.1): same id and opcode, QR set, RD and CD copied
    /// (RFC 4035 §3.1.6), the questions copied, and — when the query had EDNS — an OPT record of version 0 with
    /// `udpPayloadSize` and the DO bit copied (RFC 6891 §7, RFC 3225 §3). Sections and AA/RA are the caller's.
    public func response(rcode: ResponseCode = .noError, udpPayloadSize: UInt16 = 1232) -> DNSMessage {
        DNSMessage(
            id: id, isResponse: true, opcode: opcode, recursionDesired: recursionDesired,
            checkingDisabled: checkingDisabled, rcode: rcode, questions: questions,
            edns: edns.map { EDNS(udpPayloadSize: udpPayloadSize, dnssecOK: $0.dnssecOK) })
    }

    /// The size a UDP response to this query may take: 512 without EDNS (RFC 1035 §4.2.1), else the client's
    /// payload size capped by the server's, neither taken below 512 (RFC 6891 §6.2.3, §6.2.5).
    public func udpResponseLimit(serverPayloadSize: Int = 1232) -> Int {
        guard let edns else { return 512 }
        return Swift.min(Swift.max(512, Int(edns.udpPayloadSize)), Swift.max(512, serverPayloadSize))
    }
}

/// The output buffer and the compression table: a suffix is known by its first label's exact bytes and the offset
/// of the rest (-1 for the root), so looking a name up walks its labels from the root once.
struct WireWriter {
    struct Suffix: Hashable {
        var label: [UInt8]
        var rest: Int
    }

    var bytes: [UInt8] = []
    var offsets: [Suffix: Int] = [:]
    /// The suffixes registered, in order, so that a rolled-back RRset takes its entries with it.
    var journal: [Suffix] = []

    var mark: (Int, Int) { (bytes.count, journal.count) }

    mutating func rollback(to mark: (Int, Int)) {
        bytes.removeSubrange(mark.0...)
        for suffix in journal[mark.1...] { offsets[suffix] = nil }
        journal.removeSubrange(mark.1...)
    }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(value & 0xFFFF))
    }

    /// Writes a name, ending in a pointer to the longest suffix already written when `compress`, in full when not;
    /// either way its labels before that suffix become pointer targets.
    mutating func name(_ name: DNSName, compress: Bool) {
        let labels = name.labels
        var firstShared = labels.count
        var rest = -1
        while firstShared > 0, let offset = offsets[Suffix(label: labels[firstShared - 1], rest: rest)] {
            firstShared -= 1
            rest = offset
        }
        var starts: [Int] = []
        starts.reserveCapacity(firstShared)
        for (index, label) in labels.enumerated() where compress ? index < firstShared : true {
            starts.append(bytes.count)
            bytes.append(UInt8(label.count))
            bytes += label
        }
        if compress && firstShared < labels.count {
            bytes.append(0xC0 | UInt8(rest >> 8))
            bytes.append(UInt8(rest & 0xFF))
        } else {
            bytes.append(0)
        }
        for index in (0..<firstShared).reversed() where starts[index] < 0x4000 {
            let suffix = Suffix(label: labels[index], rest: index + 1 < firstShared ? starts[index + 1] : rest)
            offsets[suffix] = starts[index]
            journal.append(suffix)
        }
    }

    /// Writes one record; false, with nothing written, when its data cannot be represented.
    mutating func record(_ record: ResourceRecord) -> Bool {
        let mark = self.mark
        name(record.name, compress: true)
        u16(record.type.rawValue)
        u16(record.class.rawValue)
        u32(record.ttl)
        let lengthAt = bytes.count
        u16(0)
        var valid = true
        switch record.data {
        case .a(let address):
            valid = address.isIPv4
            bytes += address.bytes
        case .aaaa(let address):
            valid = address.isIPv6
            bytes += address.bytes
        case .ns(let target), .cname(let target), .ptr(let target):
            name(target, compress: true)
        case .mx(let preference, let exchange):
            u16(preference)
            name(exchange, compress: true)
        case .txt(let strings):
            if strings.isEmpty { bytes.append(0) }
            for string in strings {
                if string.isEmpty { bytes.append(0) }
                var rest = string[...]
                while !rest.isEmpty {
                    let chunk = rest.prefix(255)
                    bytes.append(UInt8(chunk.count))
                    bytes += chunk
                    rest = rest.dropFirst(chunk.count)
                }
            }
        case .srv(let priority, let weight, let port, let target):
            u16(priority)
            u16(weight)
            u16(port)
            name(target, compress: false)
        case .soa(let soa):
            name(soa.primary, compress: true)
            name(soa.mailbox, compress: true)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(value) }
        case .unknown(let type, let data):
            valid = type != .opt
            bytes += data
        }
        let length = bytes.count - lengthAt - 2
        guard valid, length <= 0xFFFF else {
            rollback(to: mark)
            return false
        }
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
        return true
    }
}

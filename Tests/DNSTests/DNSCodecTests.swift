/// Wire-format tests: round trips (RFC 1035 §4.1), golden bytes from `dig` and RFC 1035 §4.1.4's compression
/// example, EDNS (RFC 6891 §6.1.3), truncation (RFC 2181 §9, RFC 6891 §7).

import Testing
import WeftNet

@testable import DNS

struct DNSCodecTests {
    @Test func everyRecordTypeRoundTripsWithItsSpelling() throws {
        let message = fullMessage()
        let bytes = message.encode()
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded == message)
        #expect(spellings(decoded) == spellings(message))
        #expect(try DNSMessage(decoding: decoded.encode()).encode() == bytes, "stable")
        // Any Collection<UInt8> decodes, offsets counting from its first byte.
        #expect(try DNSMessage(decoding: ([0, 0] + bytes).dropFirst(2)) == message)
        #expect(try DNSMessage(decoding: AnyCollection(bytes)) == message)
    }

    @Test func eachRecordTypeAlone() throws {
        for record in everyRecordType() {
            for section in 0..<3 {
                var message = DNSMessage(id: 7, isResponse: true)
                switch section {
                case 0: message.answers = [record]
                case 1: message.authority = [record]
                default: message.additional = [record]
                }
                #expect(try DNSMessage(decoding: message.encode()) == message, "\(record.type) in section \(section)")
            }
        }
    }

    @Test func mixedCaseNamesKeepTheirSpelling() throws {
        let message = DNSMessage(
            id: 1, isResponse: true, questions: [Question(name: name("WeB.Default.SVC.cluster.local"), type: .a)],
            answers: [
                ResourceRecord(name: name("web.default.svc.cluster.local"), ttl: 1, data: .a(IPAddress("1.2.3.4")!)),
                ResourceRecord(name: name("WEB.DEFAULT.SVC.CLUSTER.LOCAL"), ttl: 1, data: .a(IPAddress("1.2.3.5")!)),
            ])
        let bytes = message.encode()
        let decoded = try DNSMessage(decoding: bytes)
        #expect(spellings(decoded) == spellings(message))
        // The first answer shares only `cluster.local` with the question, the second nothing at all.
        let second = bytes.count - 14 - 31
        #expect(Array(bytes[second..<second + 4]) == [3] + Array("WEB".utf8))
    }

    /// `dig @127.0.0.1 -p PORT +noedns www.example.com A` (DiG 9.18.49), captured on loopback.
    @Test func goldenQueryFromDig() throws {
        let bytes = hex("8a00 0120 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001")
        let query = try DNSMessage(decoding: bytes)
        #expect(
            query
                == DNSMessage(
                    id: 0x8A00, recursionDesired: true, authenticData: true,
                    questions: [Question(name: name("www.example.com"), type: .a)]))
        #expect(query.encode() == bytes)
    }

    /// `dig +nocookie kubernetes.default.svc.cluster.local SRV`: EDNS with a 1232-byte payload, no options.
    @Test func goldenEDNSQueryFromDig() throws {
        let bytes = hex(
            """
            4db6 0120 0001 0000 0000 0001
            0a6b756265726e65746573 0764656661756c74 03737663 07636c7573746572 056c6f63616c 00 0021 0001
            00 0029 04d0 00000000 0000
            """)
        let query = try DNSMessage(decoding: bytes)
        #expect(query.edns == EDNS(udpPayloadSize: 1232))
        #expect(query.questions == [Question(name: name("kubernetes.default.svc.cluster.local"), type: .srv)])
        #expect(query.additional.isEmpty && query.udpResponseLimit() == 1232)
        #expect(query.encode() == bytes)
    }

    /// The answer to the query above, by hand: both owners are pointers to the question's name at offset 12. `dig`
    /// reads these bytes (served from loopback) as two A records for www.example.com., TTL 300.
    @Test func goldenResponse() throws {
        let query = try DNSMessage(
            decoding: hex("8a00 0120 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001"))
        var response = query.response()
        response.recursionAvailable = true
        response.answers = ["93.184.216.34", "93.184.216.35"].map {
            ResourceRecord(name: name("www.example.com"), ttl: 300, data: .a(IPAddress($0)!))
        }
        let expected = hex(
            """
            8a00 8180 0001 0002 0000 0000
            03777777 076578616d706c65 03636f6d 00 0001 0001
            c00c 0001 0001 0000012c 0004 5db8d822
            c00c 0001 0001 0000012c 0004 5db8d823
            """)
        #expect(response.encode() == expected)
        #expect(try DNSMessage(decoding: expected) == response)
    }

    /// RFC 1035 §4.1.4: F.ISI.ARPA, then FOO.F.ISI.ARPA as FOO and a pointer to it, ARPA as a pointer to its
    /// suffix, and the root as a single zero.
    @Test func rfc1035CompressionExample() throws {
        let message = DNSMessage(
            id: 0, questions: [Question(name: name("F.ISI.ARPA"), type: .a)],
            answers: [
                ResourceRecord(name: name("FOO.F.ISI.ARPA"), ttl: 0, data: .ns(name("ARPA"))),
                ResourceRecord(name: .root, ttl: 0, data: .ns(.root)),
            ])
        let bytes = message.encode()
        let question = hex("01 46 03 49 53 49 04 41 52 50 41 00 0001 0001")
        #expect(Array(bytes[12..<28]) == question)
        #expect(Array(bytes[28..<34]) == [3] + Array("FOO".utf8) + [0xC0, 12])
        #expect(Array(bytes[34..<44]) == hex("0002 0001 00000000 0002"))
        #expect(Array(bytes[44..<46]) == [0xC0, 18], "ARPA is at 12 + 2 + 4")
        #expect(Array(bytes[46...]) == hex("00 0002 0001 00000000 0001 00"))
        #expect(try DNSMessage(decoding: bytes) == message)
    }

    @Test func compressionShrinksAndPointsBackwards() throws {
        let owner = name("headless.default.svc.cluster.local")
        let answers = (1...20).map {
            ResourceRecord(
                name: owner, ttl: 30,
                data: .srv(
                    priority: 0, weight: 5, port: 80, target: name("pod-\($0).headless.default.svc.cluster.local")))
        }
        let additional = (1...20).map {
            ResourceRecord(
                name: name("pod-\($0).headless.default.svc.cluster.local"), ttl: 30,
                data: .a(IPAddress("10.0.0.\($0)")!))
        }
        let message = DNSMessage(
            id: 9, isResponse: true, questions: [Question(name: owner, type: .srv)], answers: answers,
            additional: additional)
        let bytes = message.encode()
        let uncompressed =
            12 + owner.wireLength + 4 + additional.reduce(0) { $0 + owner.wireLength + 10 + 6 + $1.name.wireLength }
            + additional.reduce(0) { $0 + $1.name.wireLength + 10 + 4 }
        #expect(bytes.count < uncompressed * 6 / 10, "\(bytes.count) of \(uncompressed)")
        #expect(try DNSMessage(decoding: bytes) == message)

        // Walk the records: every owner is a pointer to an earlier offset, SRV targets are written out in full
        // (RFC 2782), and each A record's owner points into the matching SRV target.
        var offset = 12 + owner.wireLength + 4
        var targets: [Int] = []
        for _ in answers {
            #expect(bytes[offset] == 0xC0 && Int(bytes[offset + 1]) == 12)
            offset += 2 + 10 + 6
            targets.append(offset)
            let length = additional[targets.count - 1].name.wireLength
            #expect(!bytes[offset..<offset + length].contains { $0 & 0xC0 == 0xC0 })
            offset += length
        }
        for index in additional.indices {
            let pointer = Int(bytes[offset] & 0x3F) << 8 | Int(bytes[offset + 1])
            #expect(bytes[offset] & 0xC0 == 0xC0 && pointer == targets[index] && pointer < offset)
            offset += 2 + 10 + 4
        }
        #expect(offset == bytes.count)
    }

    @Test func ednsRoundTripWithExtendedRcode() throws {
        let query = DNSMessage(
            id: 0x1234, questions: [Question(name: name("a.b"), type: .a)],
            edns: EDNS(udpPayloadSize: 4096, version: 1, dnssecOK: true, options: [EDNSOption(code: 8, data: [0, 1])]))
        #expect(try DNSMessage(decoding: query.encode()) == query)

        var response = query.response(rcode: .badVers, udpPayloadSize: 1232)
        #expect(response.edns == EDNS(udpPayloadSize: 1232, version: 0, dnssecOK: true))
        response.edns?.options = [EDNSOption(code: 15, data: [0, 0])]
        let bytes = response.encode()
        #expect(bytes[3] & 0xF == 0, "BADVERS is 16: nothing in the header's 4 bits")
        let opt = Array(bytes[(bytes.count - 11 - 6)...])
        #expect(opt == hex("00 0029 04d0 01 00 8000 0006 000f 0002 0000"), "extended rcode 1 in the TTL's top byte")
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded.rcode == .badVers && decoded.rcode.description == "BADVERS")
        #expect(decoded == response)

        // Without EDNS only the low 4 bits can go.
        response.edns = nil
        #expect(try DNSMessage(decoding: response.encode()).rcode == .noError)
    }

    @Test func responseSkeletonAndLimits() {
        let query = DNSMessage(
            id: 77, opcode: .query, recursionDesired: true, checkingDisabled: true,
            questions: [Question(name: name("x.y"), type: .aaaa)], edns: EDNS(udpPayloadSize: 4096))
        let response = query.response(rcode: .nxDomain)
        #expect(
            response
                == DNSMessage(
                    id: 77, isResponse: true, recursionDesired: true, checkingDisabled: true, rcode: .nxDomain,
                    questions: query.questions, edns: EDNS(udpPayloadSize: 1232)))
        #expect(query.udpResponseLimit() == 1232 && query.udpResponseLimit(serverPayloadSize: 8192) == 4096)
        #expect(DNSMessage(id: 1).udpResponseLimit() == 512)
        #expect(DNSMessage(id: 1, edns: EDNS(udpPayloadSize: 100)).udpResponseLimit() == 512)
    }

    // MARK: Truncation

    func aRecords(_ owner: String, _ count: Int, from first: Int = 1) -> [ResourceRecord] {
        (first..<first + count).map {
            ResourceRecord(name: name(owner), ttl: 30, data: .a(IPAddress("10.1.\($0 / 256).\($0 % 256)")!))
        }
    }

    @Test func truncatesAnswersToWholeRRsetsWithTCAndKeepsOPT() throws {
        // 16 bytes per compressed A record: 20 fit in 512, 20 + 30 do not.
        var message = DNSMessage(
            id: 5, isResponse: true, questions: [Question(name: name("big.example"), type: .a)],
            answers: aRecords("big.example", 20) + aRecords("other.example", 30, from: 100),
            authority: aRecords("auth.example", 1), edns: EDNS(udpPayloadSize: 512))
        let full = message.encode()
        #expect(full.count > 512)
        let bytes = message.encode(maxSize: 512)
        #expect(bytes.count <= 512)
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded.truncated)
        #expect(decoded.answers == Array(message.answers[0..<20]))
        #expect(decoded.authority.isEmpty && decoded.edns == message.edns)

        // Without EDNS the room kept for OPT goes to records, but the second RRset still does not fit.
        message.edns = nil
        let plain = try DNSMessage(decoding: message.encode(maxSize: 512))
        #expect(plain.truncated && plain.answers.count == 20 && plain.edns == nil)

        // Over TCP everything fits.
        let tcp = try DNSMessage(decoding: message.encode(maxSize: 65535))
        #expect(!tcp.truncated && tcp == message)
    }

    @Test func dropsAdditionalRRsetsFromTheEndWithoutTC() throws {
        let message = DNSMessage(
            id: 6, isResponse: true, questions: [Question(name: name("svc.example"), type: .srv)],
            answers: aRecords("svc.example", 8),
            additional: aRecords("a.svc.example", 10) + aRecords("b.svc.example", 10) + aRecords("c.svc.example", 10),
            edns: EDNS())
        let bytes = message.encode(maxSize: 512)
        #expect(bytes.count <= 512)
        let decoded = try DNSMessage(decoding: bytes)
        #expect(!decoded.truncated)
        #expect(decoded.answers == message.answers)
        #expect(decoded.additional == Array(message.additional[0..<20]), "a and b fit whole, c is dropped")
        #expect(decoded.edns == EDNS())
    }

    @Test func truncatesAuthorityWithTC() throws {
        let message = DNSMessage(
            id: 8, isResponse: true, answers: aRecords("x.example", 2), authority: aRecords("y.example", 40),
            additional: aRecords("z.example", 1))
        let decoded = try DNSMessage(decoding: message.encode(maxSize: 512))
        #expect(decoded.truncated && decoded.answers == message.answers)
        #expect(decoded.authority.isEmpty && decoded.additional.isEmpty)
    }

    @Test func tinyLimitsStillHoldTheHeader() throws {
        let message = DNSMessage(
            id: 3, questions: [Question(name: name("q.example"), type: .a)], edns: EDNS(udpPayloadSize: 4096))
        let header = message.encode(maxSize: 0)
        #expect(header.count == 12)
        let decoded = try DNSMessage(decoding: header)
        #expect(decoded.truncated && decoded.questions.isEmpty && decoded.edns == nil)
        let withOPT = try DNSMessage(decoding: message.encode(maxSize: 23))
        #expect(withOPT.truncated && withOPT.questions.isEmpty && withOPT.edns != nil)
    }

    @Test func unrepresentableRecordsAreLeftOut() throws {
        let message = DNSMessage(
            id: 4,
            answers: [
                ResourceRecord(name: name("a"), ttl: 1, data: .a(IPAddress("::1")!)),
                ResourceRecord(name: name("a"), ttl: 1, data: .aaaa(IPAddress("1.2.3.4")!)),
                ResourceRecord(name: name("a"), ttl: 1, data: .unknown(type: .opt, bytes: [])),
                ResourceRecord(
                    name: name("a"), ttl: 1,
                    data: .unknown(
                        type: RecordType(rawValue: 65280),
                        bytes: Array(repeating: 0, count: 70000))),
                ResourceRecord(name: name("b"), ttl: 1, data: .txt([Array(repeating: 0x61, count: 300)])),
            ])
        let decoded = try DNSMessage(decoding: message.encode())
        #expect(decoded.answers.count == 1)
        #expect(
            decoded.answers.first?.data
                == .txt([Array(repeating: 0x61, count: 255), Array(repeating: 0x61, count: 45)]))
    }
}

/// Hostile input (RFC 1035 §4.1.4, RFC 6891 §6.1.1): every case is a DNSDecodeError carrying the id and opcode
/// when the header was readable, never a trap; and a seeded fuzz of 20,000 mutations of valid messages.

import Testing
import WeftNet

@testable import DNS

struct DNSBadInputTests {
    static let id: UInt16 = 0xABCD

    /// A header with the given counts; opcode in bits 11–14 of the flags.
    func header(_ qd: Int, _ an: Int = 0, _ ns: Int = 0, _ ar: Int = 0, flags: UInt16 = 0x0100) -> [UInt8] {
        [Self.id, flags, UInt16(qd), UInt16(an), UInt16(ns), UInt16(ar)].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    func record(_ owner: [UInt8], type: UInt16, rdata: [UInt8], length: Int? = nil) -> [UInt8] {
        let rdlength = length ?? rdata.count
        return owner + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 30, UInt8(rdlength >> 8)]
            + [UInt8(rdlength & 0xFF)] + rdata
    }

    let question = hex("01 61 00 0001 0001")
    let label63 = [63] + [UInt8](repeating: 0x78, count: 63)

    func expectFailure(
        _ bytes: [UInt8], _ reason: String, opcode: Opcode = .query, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let message = try DNSMessage(decoding: bytes)
            Issue.record("decoded \(message)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.id == Self.id, sourceLocation: sourceLocation)
            #expect(error.opcode == opcode, sourceLocation: sourceLocation)
            #expect(
                error.reason.contains(reason), "\(error.reason) does not mention \(reason)",
                sourceLocation: sourceLocation)
            let answer = error.formErrResponse()
            #expect(answer?.id == Self.id && answer?.rcode == .formErr && answer?.isResponse == true)
            #expect(answer?.recursionDesired == true && answer?.opcode == opcode, sourceLocation: sourceLocation)
        }
    }

    @Test func truncatedHeaderHasNoID() {
        for count in [0, 1, 5, 11] {
            #expect {
                try DNSMessage(decoding: Array(header(0).prefix(count)))
            } throws: { error in
                let error = error as! DNSDecodeError
                return error.id == nil && error.opcode == nil && error.formErrResponse() == nil
                    && error.reason.contains("header")
            }
        }
    }

    @Test func truncatedSectionsAndCountsThatDoNotMatch() {
        expectFailure(header(1), "counts")
        expectFailure(header(1) + hex("03 77 77 77 07 65"), "runs past the end")
        expectFailure(header(1) + hex("01 61 00 0001 00"), "ends inside question 1")
        expectFailure(header(1, 1) + question, "counts")
        expectFailure(
            header(1, 0, 0, 1) + hex("05 6161616161 00 0001 0001") + hex("00 0001 0001 0000"),
            "ends inside additional record 1")
        expectFailure(header(0) + question, "7 bytes after the last record")
        expectFailure(header(1) + question + [0], "1 bytes after")
        expectFailure(header(1, 0, 0, 0, flags: 0x2900) + hex("01 61 00 0001"), "ends inside", opcode: .update)
        expectFailure(header(0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF), "counts")
    }

    @Test func compressionPointerLoopsAndForwardPointers() {
        expectFailure(header(1) + hex("c0 0c 0001 0001"), "does not point backwards")
        expectFailure(header(1) + hex("01 61 c0 0c 0001 0001"), "does not point backwards")
        // A second name that loops back onto its own start.
        expectFailure(header(2) + question + hex("01 62 c0 13 0001 0001"), "does not point backwards")
        // Two names pointing at each other: the first has to point forwards.
        expectFailure(header(2) + hex("c0 12 0001 0001") + hex("c0 0c 0001 0001"), "does not point backwards")
        expectFailure(header(1) + hex("c0 ff 0001 0001"), "does not point backwards")
        expectFailure(header(1) + hex("01 61 01 62 01 63 c0"), "pointer of name of question 1 is cut off")
        // A pointer to a prior pointer is fine as long as every jump goes further back.
        let chained = header(3) + question + hex("01 62 c0 0c 0001 0001") + hex("01 63 c0 13 0001 0001")
        #expect((try? DNSMessage(decoding: chained))?.questions.map(\.name.description) == ["a.", "b.a.", "c.b.a."])
    }

    @Test func reservedLabelTypesAndOverlongLabels() {
        expectFailure(header(1) + [64] + [UInt8](repeating: 0x78, count: 64) + [0, 0, 1, 0, 1], "reserved type 0x40")
        expectFailure(header(1) + hex("7f 00 0001 0001"), "reserved type 0x40")
        expectFailure(header(1) + hex("80 00 0001 0001"), "reserved type 0x80")
        expectFailure(header(1) + hex("01 61 bf 00 0001 0001"), "reserved type 0x80")
    }

    @Test func namesOver255Bytes() {
        expectFailure(header(1) + Array([label63, label63, label63, label63].joined()) + [0, 0, 1, 0, 1], "255")
        // 3 × 64 + 1 = 193 bytes, then 64 more in front of a pointer to it: 257.
        let first = Array([label63, label63, label63].joined()) + [0, 0, 1, 0, 1]
        expectFailure(header(2) + first + label63 + hex("c0 0c 0001 0001"), "255")
        // 254 + root = 255 is the limit and fine.
        let longest = Array([label63, label63, label63].joined()) + [61] + [UInt8](repeating: 0x79, count: 61)
        #expect(throws: Never.self) { try DNSMessage(decoding: header(1) + longest + [0, 0, 1, 0, 1]) }
    }

    @Test func rdataLengthsThatDoNotMatch() {
        let owner: [UInt8] = [0xC0, 12]
        let h = header(1, 1) + question
        expectFailure(h + record(owner, type: 1, rdata: [1, 2, 3, 4], length: 10), "runs past the end")
        expectFailure(h + record(owner, type: 1, rdata: [1, 2, 3, 4, 5]), "5 bytes of address")
        expectFailure(h + record(owner, type: 28, rdata: [UInt8](repeating: 0, count: 4)), "not 16")
        expectFailure(h + record(owner, type: 5, rdata: hex("01 62 00 ff")), "takes 3")
        expectFailure(h + record(owner, type: 5, rdata: hex("03 61 62 63 00"), length: 3) + [0, 0], "runs past")
        expectFailure(h + record(owner, type: 12, rdata: hex("c0 0c"), length: 1) + [0x0c], "cut off")
        expectFailure(h + record(owner, type: 15, rdata: hex("00 0a")), "MX data")
        expectFailure(h + record(owner, type: 16, rdata: hex("05 61 62")), "TXT string")
        expectFailure(h + record(owner, type: 33, rdata: hex("0000 0000 0050")), "SRV data")
        expectFailure(h + record(owner, type: 6, rdata: hex("00 00 00000001")), "SOA data")
        expectFailure(h + record(owner, type: 2, rdata: hex("c0 1f")), "does not point backwards")
    }

    @Test func optRecordRules() {
        let opt = record([0], type: 41, rdata: [])
        expectFailure(header(1, 1) + question + opt, "OPT record in the answer section")
        expectFailure(header(1, 0, 1) + question + opt, "OPT record in the authority section")
        expectFailure(header(1, 0, 0, 2) + question + opt + opt, "more than one OPT")
        expectFailure(header(1, 0, 0, 1) + question + record([0xC0, 12], type: 41, rdata: []), "root")
        expectFailure(header(1, 0, 0, 1) + question + record([0], type: 41, rdata: hex("000a 0008 0102")), "option")
        expectFailure(header(1, 0, 0, 1) + question + record([0], type: 41, rdata: hex("000a 00")), "option")
        // Unknown classes, opcodes and types are not decoding errors: the server answers them.
        let odd =
            header(1, 1, 0, 0, flags: 0x7800) + hex("01 61 00 1234 00fe")
            + record([0xC0, 12], type: 0xFF00, rdata: [9, 9])
        let message = try? DNSMessage(decoding: odd)
        #expect(
            message?.opcode == Opcode(rawValue: 15) && message?.questions.first?.class == RecordClass(rawValue: 254))
        #expect(message?.answers.first?.data == .unknown(type: RecordType(rawValue: 0xFF00), bytes: [9, 9]))
    }

    @Test func errorsOfResponsesAreNotAnswered() {
        let error = #expect(throws: DNSDecodeError.self) {
            try DNSMessage(decoding: self.header(1, 0, 0, 0, flags: 0x8180))
        }
        #expect(error?.id == Self.id && error?.isResponse == true && error?.formErrResponse() == nil)
        #expect(error?.description.hasPrefix("message 43981: counts") == true)
    }

    /// 20,000 seeded mutations of valid messages (bit flips, truncations, inserted, overwritten and deleted bytes):
    /// the decoder never traps, an error carries the id whenever 12 bytes were there, and whatever decodes encodes
    /// to bytes that decode to an equal message, with the same spellings, and encode to the same bytes again.
    @Test func fuzzedMutationsNeverCrashAndRoundTrip() throws {
        var bases = [
            fullMessage(),
            DNSMessage(id: 1, recursionDesired: true, questions: [Question(name: name("www.example.com"), type: .a)]),
            DNSMessage(
                id: 2, isResponse: true, rcode: .badVers, questions: [Question(name: name("x.Example.com"), type: .mx)],
                answers: everyRecordType().filter { $0.type == .mx },
                edns: EDNS(options: [EDNSOption(code: 3, data: [])])),
        ].map { $0.encode() }
        let headless = DNSMessage(
            id: 3, isResponse: true, questions: [Question(name: name("h.ns.svc.cluster.local"), type: .srv)],
            answers: (1...4).map {
                ResourceRecord(
                    name: name("h.ns.svc.cluster.local"), ttl: 30,
                    data: .srv(priority: 0, weight: 1, port: 80, target: name("p\($0).h.ns.svc.cluster.local")))
            },
            additional: (1...4).map {
                ResourceRecord(
                    name: name("p\($0).h.ns.svc.cluster.local"), ttl: 30, data: .a(IPAddress("10.0.0.\($0)")!))
            })
        bases.append(headless.encode())
        bases.append(headless.encode(maxSize: 150))

        var random = SeededGenerator(seed: 0x5EED_D115)
        var decoded = 0
        for iteration in 0..<20_000 {
            var bytes = bases[Int.random(in: 0..<bases.count, using: &random)]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0...bytes.count, using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0, 1:
                    if position < bytes.count { bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random) }
                case 2:
                    bytes.removeSubrange(position...)
                case 3:
                    let count = Int.random(in: 1...8, using: &random)
                    bytes.insert(
                        contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }, at: position)
                case 4:
                    let special: [UInt8] = [
                        0, 0x3F, 0x40, 0x80, 0xC0, 0xC0, 0xFF, UInt8.random(in: 0...255, using: &random),
                    ]
                    if position < bytes.count { bytes[position] = special.randomElement(using: &random)! }
                default:
                    let end = Swift.min(bytes.count, position + Int.random(in: 1...6, using: &random))
                    bytes.removeSubrange(position..<end)
                }
            }
            do {
                let message = try DNSMessage(decoding: bytes)
                decoded += 1
                let encoded = message.encode()
                let again = try DNSMessage(decoding: encoded)
                if again != message || spellings(again) != spellings(message) || again.encode() != encoded {
                    Issue.record("iteration \(iteration): \(hexString(bytes)) does not round trip")
                }
            } catch {
                if bytes.count >= 12, error.id != UInt16(bytes[0]) << 8 | UInt16(bytes[1]) {
                    Issue.record("iteration \(iteration): \(error) lacks the id of \(hexString(bytes))")
                }
            }
        }
        #expect(decoded > 1000, "\(decoded) of 20,000 mutations decoded: the fuzz reaches past the first check")
    }
}

/// Helpers for the codec tests: names, hex, a seeded generator, and messages that use every record type.

import Testing
import WeftNet

@testable import DNS

func name(_ text: String) -> DNSName { DNSName(text)! }

func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// SplitMix64: small, seeded, the same sequence on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One record of every type the model knows, plus an unknown one, with names that share suffixes.
func everyRecordType() -> [ResourceRecord] {
    let zone = name("cluster.local")
    return [
        ResourceRecord(name: name("web.default.svc.cluster.local"), ttl: 30, data: .a(IPAddress("10.96.0.1")!)),
        ResourceRecord(name: name("web.default.svc.cluster.local"), ttl: 30, data: .aaaa(IPAddress("fd00::1")!)),
        ResourceRecord(name: zone, ttl: 30, data: .ns(name("ns.dns.cluster.local"))),
        ResourceRecord(name: name("ext.default.svc.cluster.local"), ttl: 30, data: .cname(name("example.com"))),
        ResourceRecord(
            name: name("1.0.96.10.in-addr.arpa"), ttl: 30, data: .ptr(name("web.default.svc.cluster.local"))),
        ResourceRecord(name: zone, ttl: 30, data: .mx(preference: 10, exchange: name("mail.cluster.local"))),
        ResourceRecord(
            name: name("dns-version.cluster.local"), ttl: 30,
            data: .txt([Array("1.1.0".utf8), [], Array(repeating: 0x41, count: 255)])),
        ResourceRecord(
            name: name("_http._tcp.web.default.svc.cluster.local"), ttl: 30,
            data: .srv(priority: 0, weight: 100, port: 80, target: name("web.default.svc.cluster.local"))),
        ResourceRecord(
            name: zone, ttl: 5,
            data: .soa(
                SOAData(
                    primary: name("ns.dns.cluster.local"), mailbox: name("hostmaster.cluster.local"),
                    serial: 1_700_000_000, refresh: 7200, retry: 1800, expire: 86400, minimum: 5))),
        ResourceRecord(name: zone, ttl: 30, data: .unknown(type: RecordType(rawValue: 65280), bytes: [1, 2, 3])),
        ResourceRecord(name: zone, class: .chaos, ttl: 0, data: .txt([Array("weft".utf8)])),
    ]
}

func fullMessage() -> DNSMessage {
    let records = everyRecordType()
    return DNSMessage(
        id: 0xBEEF, isResponse: true, opcode: .query, authoritative: true, recursionDesired: true,
        recursionAvailable: true, authenticData: true, checkingDisabled: true, rcode: .nxDomain,
        questions: [Question(name: name("web.default.svc.cluster.local"), type: .any)],
        answers: Array(records[0..<5]), authority: Array(records[5..<9]), additional: Array(records[9...]),
        edns: EDNS(udpPayloadSize: 4096, dnssecOK: true, options: [EDNSOption(code: 10, data: Array(0..<8))]))
}

/// Every label of every name, byte for byte: `==` on names ignores case, this does not.
func spellings(_ message: DNSMessage) -> [[[UInt8]]] {
    var names = message.questions.map(\.name)
    for record in message.answers + message.authority + message.additional {
        names.append(record.name)
        switch record.data {
        case .ns(let n), .cname(let n), .ptr(let n), .mx(_, let n), .srv(_, _, _, let n): names.append(n)
        case .soa(let soa): names += [soa.primary, soa.mailbox]
        default: break
        }
    }
    return names.map(\.labels)
}

/// The DNS message model: header fields and sections of RFC 1035 §4.1 (flags of RFC 4035 §3.2 for AD/CD), record
/// types of RFC 1035 §3.2.2, RFC 3596 (AAAA), RFC 2782 (SRV) and RFC 6891 (OPT), response codes with EDNS's
/// extension (RFC 6891 §6.1.3). The wire format is in DNSDecoding.swift and DNSEncoding.swift.

import WeftNet

/// A record type (RFC 1035 §3.2.2 and later RFCs); unknown types keep their number.
public struct RecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RecordType(rawValue: 1)
    public static let ns = RecordType(rawValue: 2)
    public static let cname = RecordType(rawValue: 5)
    public static let soa = RecordType(rawValue: 6)
    public static let ptr = RecordType(rawValue: 12)
    public static let mx = RecordType(rawValue: 15)
    public static let txt = RecordType(rawValue: 16)
    public static let aaaa = RecordType(rawValue: 28)
    public static let srv = RecordType(rawValue: 33)
    public static let opt = RecordType(rawValue: 41)
    public static let ixfr = RecordType(rawValue: 251)
    public static let axfr = RecordType(rawValue: 252)
    public static let any = RecordType(rawValue: 255)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 41: "OPT",
        251: "IXFR", 252: "AXFR", 255: "ANY",
    ]
    public var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }
}

/// A record class; only IN (1) is served.
public struct RecordClass: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let `in` = RecordClass(rawValue: 1)
    public static let chaos = RecordClass(rawValue: 3)
    public static let any = RecordClass(rawValue: 255)
}

/// The operation of a message (RFC 1035 §4.1.1, RFC 6895).
public struct Opcode: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let query = Opcode(rawValue: 0)
    public static let iquery = Opcode(rawValue: 1)
    public static let status = Opcode(rawValue: 2)
    public static let notify = Opcode(rawValue: 4)
    public static let update = Opcode(rawValue: 5)
}

/// A response code, 12 bits with EDNS's extension (RFC 6891 §6.1.3).
public struct ResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let noError = ResponseCode(rawValue: 0)
    public static let formErr = ResponseCode(rawValue: 1)
    public static let servFail = ResponseCode(rawValue: 2)
    public static let nxDomain = ResponseCode(rawValue: 3)
    public static let notImp = ResponseCode(rawValue: 4)
    public static let refused = ResponseCode(rawValue: 5)
    public static let badVers = ResponseCode(rawValue: 16)

    static let names: [UInt16: String] = [
        0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 16: "BADVERS",
    ]

    public var description: String { Self.names[rawValue] ?? "RCODE\(rawValue)" }
}

/// The SOA record's fields (RFC 1035 §3.3.13).
public struct SOAData: Sendable, Hashable {
    public var primary: DNSName
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// The negative-caching TTL (RFC 2308 §4).
    public var minimum: UInt32

    public init(
        primary: DNSName, mailbox: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32,
        minimum: UInt32
    ) {
        self.primary = primary
        self.mailbox = mailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// A record's data, by type; types without a case here keep their bytes.
public enum RecordData: Sendable, Hashable {
    case a(IPAddress)
    case aaaa(IPAddress)
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    /// Character strings of at most 255 bytes each.
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case soa(SOAData)
    case unknown(type: RecordType, bytes: [UInt8])

    public var type: RecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ns: .ns
        case .cname: .cname
        case .ptr: .ptr
        case .mx: .mx
        case .txt: .txt
        case .srv: .srv
        case .soa: .soa
        case .unknown(let type, _): type
        }
    }
}

/// A resource record (RFC 1035 §4.1.3).
public struct ResourceRecord: Sendable, Hashable {
    public var name: DNSName
    public var `class`: RecordClass
    public var ttl: UInt32
    public var data: RecordData

    public init(name: DNSName, class: RecordClass = .in, ttl: UInt32, data: RecordData) {
        self.name = name
        self.class = `class`
        self.ttl = ttl
        self.data = data
    }

    public var type: RecordType { data.type }
}

/// A question (RFC 1035 §4.1.2).
public struct Question: Sendable, Hashable {
    public var name: DNSName
    public var type: RecordType
    public var `class`: RecordClass

    public init(name: DNSName, type: RecordType, class: RecordClass = .in) {
        self.name = name
        self.type = type
        self.class = `class`
    }
}

/// EDNS(0) as carried by the OPT pseudo-record (RFC 6891 §6.1).
public struct EDNS: Sendable, Hashable {
    /// The largest UDP payload the sender can reassemble (values below 512 are treated as 512).
    public var udpPayloadSize: UInt16
    public var version: UInt8
    /// The DO bit.
    public var dnssecOK: Bool
    /// Options as code and data, in order.
    public var options: [EDNSOption]

    public init(udpPayloadSize: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, options: [EDNSOption] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
        self.options = options
    }
}

public struct EDNSOption: Sendable, Hashable {
    public var code: UInt16
    public var data: [UInt8]

    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

/// A DNS message (RFC 1035 §4.1). The OPT record is not among `additional`: it is `edns`, and its extended
/// response-code bits are folded into `rcode`.
public struct DNSMessage: Sendable, Hashable {
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: Opcode
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    public var authenticData: Bool
    public var checkingDisabled: Bool
    public var rcode: ResponseCode
    public var questions: [Question]
    public var answers: [ResourceRecord]
    public var authority: [ResourceRecord]
    public var additional: [ResourceRecord]
    public var edns: EDNS?

    public init(
        id: UInt16, isResponse: Bool = false, opcode: Opcode = .query, authoritative: Bool = false,
        truncated: Bool = false, recursionDesired: Bool = false, recursionAvailable: Bool = false,
        authenticData: Bool = false, checkingDisabled: Bool = false, rcode: ResponseCode = .noError,
        questions: [Question] = [], answers: [ResourceRecord] = [], authority: [ResourceRecord] = [],
        additional: [ResourceRecord] = [], edns: EDNS? = nil
    ) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.authoritative = authoritative
        self.truncated = truncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.authenticData = authenticData
        self.checkingDisabled = checkingDisabled
        self.rcode = rcode
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }
}

import DNS
import Testing

@testable import DNSServer

/// What the responder answers to queries it does not serve (RFC 1035 §4.1.1, RFC 6891 §6.1.3).
struct DNSResponderTests {
    static func rcode(of query: DNSMessage) throws -> ResponseCode? {
        let responder = DNSResponder(zones: ZoneStore(), forwarder: nil)
        guard case .reply(let bytes) = responder.handle(query.encode(), transport: .udp) else { return nil }
        let response = try DNSMessage(decoding: bytes)
        #expect(response.id == query.id && response.isResponse)
        return response.rcode
    }

    static let question = Question(name: DNSName("web.default.svc.cluster.local")!, type: .a)

    @Test func unsupportedQueriesGetTheRightCode() throws {
        #expect(try Self.rcode(of: DNSMessage(id: 1, opcode: .update, questions: [Self.question])) == .notImp)
        #expect(
            try Self.rcode(of: DNSMessage(id: 2, opcode: Opcode(rawValue: 9), questions: [Self.question])) == .notImp)
        #expect(try Self.rcode(of: DNSMessage(id: 3, questions: [Self.question, Self.question])) == .formErr)
        #expect(try Self.rcode(of: DNSMessage(id: 4, questions: [])) == .formErr)
        #expect(
            try Self.rcode(of: DNSMessage(id: 5, questions: [Self.question], edns: EDNS(version: 1))) == .badVers)
        let chaos = Question(name: DNSName("version.bind")!, type: .txt, class: .chaos)
        #expect(try Self.rcode(of: DNSMessage(id: 6, questions: [chaos])) == .refused)
        // An answer is not a query: no reply.
        let responder = DNSResponder(zones: ZoneStore(), forwarder: nil)
        let response = DNSMessage(id: 7, isResponse: true, questions: [Self.question])
        guard case .drop = responder.handle(response.encode(), transport: .udp) else {
            Issue.record("a response was answered")
            return
        }
    }
}

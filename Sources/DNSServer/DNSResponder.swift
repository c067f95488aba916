import ClusterDNS
import DNS
import Logging

/// Answers one query: from the cluster zone when the name is the zone's (at once, without leaving the calling
/// thread), else through the forwarder. Malformed queries get FORMERR when their header could be read (RFC 1035
/// §4.1.1; a message too broken to answer is dropped), other opcodes NOTIMP, EDNS versions above 0 BADVERS
/// (RFC 6891 §6.1.3), classes other than IN and zone transfers REFUSED; responses are never larger than the
/// client allows (512 bytes without EDNS, its payload size capped by ours with it; TC set when the answer had to
/// be cut, so the client retries over TCP).
public final class DNSResponder: Sendable {
    public let zones: ZoneStore
    public let forwarder: Forwarder?
    public let metrics: DNSMetrics
    /// The largest UDP payload the server offers (RFC 6891 §6.2.5; 1232 avoids fragmentation, DNS flag day 2020).
    public let udpPayloadSize: Int
    private let logger: Logger

    public init(
        zones: ZoneStore, forwarder: Forwarder?, metrics: DNSMetrics = DNSMetrics(), udpPayloadSize: Int = 1232,
        logger: Logger = Logger(label: "weft.dns")
    ) {
        self.zones = zones
        self.forwarder = forwarder
        self.metrics = metrics
        self.udpPayloadSize = udpPayloadSize
        self.logger = logger
    }

    public enum Transport: Sendable { case udp, tcp }

    /// What to do with a query.
    public enum Outcome: Sendable {
        /// Send these bytes.
        case reply([UInt8])
        /// Send nothing (not a query, or not even a readable header).
        case drop
        /// The answer needs the upstreams: `finish` it.
        case forward(Pending)
    }

    /// A query waiting for the forwarder, with what the zone already answered (an ExternalName's CNAME).
    public struct Pending: Sendable {
        var query: DNSMessage
        var question: Question
        var zoneAnswer: ZoneAnswer?
        var transport: Transport
        var started: ContinuousClock.Instant
    }

    /// Handles `bytes` as far as it can without waiting.
    public func handle(_ bytes: [UInt8], transport: Transport) -> Outcome {
        var cacheable: ResponseCode?
        return handle(bytes, transport: transport, cacheable: &cacheable)
    }

    /// Handles `bytes`; `cacheable` is set to the reply's rcode when the reply is the zone's answer to a
    /// well-formed query (in the zone, or refused or a bare ExternalName CNAME without upstreams): the same query
    /// asked again gets the same bytes (but for the id, RD and CD) for as long as the zone's generation read before
    /// this call has not changed. Forwarded answers, even from the forwarder's cache, never are (their TTLs age).
    func handle(_ bytes: [UInt8], transport: Transport, cacheable: inout ResponseCode?) -> Outcome {
        cacheable = nil
        let started = ContinuousClock.now
        let query: DNSMessage
        do {
            query = try DNSMessage(decoding: bytes)
        } catch {
            guard let formErr = error.formErrResponse() else {
                metrics.recordDropped()
                return .drop
            }
            return reply(formErr, to: nil, transport: transport, started: started)
        }
        guard !query.isResponse else {
            metrics.recordDropped()
            return .drop
        }
        guard query.opcode == .query else {
            return reply(query.response(rcode: .notImp), to: query, transport: transport, started: started)
        }
        guard query.questions.count == 1, let question = query.questions.first else {
            return reply(query.response(rcode: .formErr), to: query, transport: transport, started: started)
        }
        if let edns = query.edns, edns.version > 0 {
            return reply(query.response(rcode: .badVers), to: query, transport: transport, started: started)
        }
        guard question.class == .in || question.class == .any else {
            return reply(query.response(rcode: .refused), to: query, transport: transport, started: started)
        }
        let answer = zones.snapshot.answer(question)
        guard answer.isInZone else {
            return forwardOrRefuse(
                query, question, zoneAnswer: nil, transport: transport, started: started, cacheable: &cacheable)
        }
        if answer.externalTarget != nil {
            return forwardOrRefuse(
                query, question, zoneAnswer: answer, transport: transport, started: started, cacheable: &cacheable)
        }
        var response = query.response(rcode: answer.rcode, udpPayloadSize: UInt16(udpPayloadSize))
        response.authoritative = answer.authoritative
        // RA on every answer, as CoreDNS sets it: stub resolvers (nslookup) treat an answer without it as a
        // failure of the server and move on to the next one instead of taking the answer.
        response.recursionAvailable = true
        response.answers = answer.answers
        response.authority = answer.authority
        response.additional = answer.additional
        cacheable = response.rcode
        return reply(response, to: query, transport: transport, started: started)
    }

    /// The forwarded part of an answer.
    public func finish(_ pending: Pending) async -> [UInt8] {
        guard let forwarder else { return [] }
        let query = pending.query
        var response = query.response(udpPayloadSize: UInt16(udpPayloadSize))
        response.recursionAvailable = true
        if let zoneAnswer = pending.zoneAnswer, let target = zoneAnswer.externalTarget {
            // An ExternalName: the zone's CNAME, then the target's records (as CoreDNS answers it).
            let resolved = await forwarder.resolve(Question(name: target, type: pending.question.type))
            metrics.recordForward(resolved.source)
            response.rcode = resolved.entry.rcode
            response.answers = zoneAnswer.answers + resolved.entry.answers
            response.authority = resolved.entry.authority
        } else {
            let resolved = await forwarder.resolve(pending.question)
            metrics.recordForward(resolved.source)
            response.rcode = resolved.entry.rcode
            response.answers = resolved.entry.answers
            response.authority = resolved.entry.authority
            response.additional = resolved.entry.additional
        }
        if case .reply(let bytes) = reply(response, to: query, transport: pending.transport, started: pending.started) {
            return bytes
        }
        return []
    }

    private func forwardOrRefuse(
        _ query: DNSMessage, _ question: Question, zoneAnswer: ZoneAnswer?, transport: Transport,
        started: ContinuousClock.Instant, cacheable: inout ResponseCode?
    ) -> Outcome {
        guard let forwarder else {
            // No upstreams: the zone's part alone (an ExternalName's CNAME), else REFUSED (not ours to answer).
            var response = query.response(
                rcode: zoneAnswer == nil ? .refused : .noError, udpPayloadSize: UInt16(udpPayloadSize))
            response.answers = zoneAnswer?.answers ?? []
            response.authoritative = zoneAnswer != nil
            response.recursionAvailable = true
            cacheable = response.rcode
            return reply(response, to: query, transport: transport, started: started)
        }
        if zoneAnswer == nil, let hit = forwarder.cached(question) {
            // A cached name is answered at once, like the zone's.
            metrics.recordForward(.cache)
            var response = query.response(rcode: hit.rcode, udpPayloadSize: UInt16(udpPayloadSize))
            response.recursionAvailable = true
            response.answers = hit.answers
            response.authority = hit.authority
            response.additional = hit.additional
            return reply(response, to: query, transport: transport, started: started)
        }
        return .forward(
            Pending(query: query, question: question, zoneAnswer: zoneAnswer, transport: transport, started: started))
    }

    private func reply(
        _ response: DNSMessage, to query: DNSMessage?, transport: Transport, started: ContinuousClock.Instant
    ) -> Outcome {
        let limit =
            switch transport {
            case .udp: query?.udpResponseLimit(serverPayloadSize: udpPayloadSize) ?? 512
            case .tcp: 65535
            }
        let bytes = response.encode(maxSize: limit)
        metrics.recordResponse(
            type: query?.questions.first?.type, rcode: response.rcode, transport: transport,
            duration: ContinuousClock.now - started)
        return .reply(bytes)
    }
}

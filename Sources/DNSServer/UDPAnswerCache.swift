import Glibc

/// The UDP fast path's answers, kept as the bytes the full path (`DNSResponder`) sent: a query whose question,
/// byte for byte, and EDNS variant (none, or DO and the size limit) were answered before from the zone gets the
/// same bytes with only its id, RD and CD copied in — nothing decoded, looked up in the zone or encoded.

/// A UDP query the cache can answer: exactly one question and no records but at most an EDNS(0) OPT record
/// (RFC 6891 §6.1.1), opcode QUERY, not a response, every check of `DNSMessage(decoding:)` passed. Anything else
/// (a compression pointer in the question, EDNS version 1, trailing bytes, …) is nil and goes to the full path.
struct CacheableQuery {
    /// The question's end: bytes 12..<questionEnd are its name, type and class as they came.
    var questionEnd: Int
    /// What besides the question changes the answer: 0 without EDNS; with it, bit 16, the DO bit as bit 17 and
    /// the response size limit (`DNSMessage.udpResponseLimit`) in the low 16 bits.
    var variant: UInt32
    var type: UInt16
    var hash: Int

    init?(_ packet: UnsafeRawBufferPointer, serverPayloadSize: Int) {
        let count = packet.count
        guard count >= 17 else { return nil }
        // QR = 0 and opcode QUERY; the other flag bits are either copied (RD, CD) or ignored by the responder.
        guard packet[2] & 0xF8 == 0 else { return nil }
        guard packet[4] == 0, packet[5] == 1, packet[6] == 0, packet[7] == 0, packet[8] == 0, packet[9] == 0,
            packet[10] == 0, packet[11] <= 1
        else { return nil }
        let hasOPT = packet[11] == 1
        // The name: plain labels (RFC 1035 §3.1), at most 63 bytes each and 255 in all.
        var offset = 12
        var wireLength = 1
        while true {
            guard offset < count else { return nil }
            let length = Int(packet[offset])
            if length == 0 {
                offset += 1
                break
            }
            guard length <= 63 else { return nil }
            wireLength += length + 1
            guard wireLength <= 255 else { return nil }
            offset += 1 + length
        }
        guard count - offset >= 4 else { return nil }
        type = UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1])
        offset += 4
        questionEnd = offset
        if !hasOPT {
            guard offset == count else { return nil }
            variant = 0
        } else {
            // The OPT record: root owner, type 41, payload size as class, version 0 (else BADVERS), DO, RDATA of
            // well-formed options to the end of the message.
            guard count - offset >= 11, packet[offset] == 0, packet[offset + 1] == 0, packet[offset + 2] == 41,
                packet[offset + 6] == 0
            else { return nil }
            let payloadSize = Int(packet[offset + 3]) << 8 | Int(packet[offset + 4])
            let dnssecOK = packet[offset + 7] & 0x80 != 0
            let dataLength = Int(packet[offset + 9]) << 8 | Int(packet[offset + 10])
            offset += 11
            guard count - offset == dataLength else { return nil }
            while offset < count {
                guard count - offset >= 4 else { return nil }
                let optionLength = Int(packet[offset + 2]) << 8 | Int(packet[offset + 3])
                offset += 4
                guard count - offset >= optionLength else { return nil }
                offset += optionLength
            }
            let limit = min(max(512, payloadSize), max(512, serverPayloadSize))
            variant = 1 << 16 | (dnssecOK ? 1 << 17 : 0) | UInt32(limit & 0xFFFF)
        }
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: packet[12..<questionEnd]))
        hasher.combine(variant)
        hash = hasher.finalize()
    }

    var questionLength: Int { questionEnd - 12 }
}

/// Answers by question, for one thread (not thread-safe: each fast-path thread has its own). Open addressing
/// with linear probing over a power-of-two table at most half full; each entry is one allocation holding the
/// question and the response. Bounded by `maxEntries` and `maxBytes`: when either would be passed, everything is
/// dropped and the cache fills again from the queries that come. Dropped whole, too, when the zone's generation
/// is not the one its answers were computed from (`validate`).
final class UDPAnswerCache {
    /// An entry's header, before its question and response bytes.
    private struct Header {
        var questionLength: UInt16
        var responseLength: UInt16
        var rcode: UInt16
    }

    private struct Slot {
        var hash: Int
        var variant: UInt32
        var entry: UnsafeMutableRawPointer?
    }

    /// A cached answer, valid until the next `insert` or `validate`.
    struct Answer {
        var response: UnsafeRawBufferPointer
        var rcode: UInt16
    }

    let maxEntries: Int
    let maxBytes: Int
    private var slots: UnsafeMutablePointer<Slot>
    private var capacity: Int
    private(set) var count = 0
    private(set) var bytes = 0
    /// The zone generation the entries were computed from.
    private(set) var generation: UInt64 = 0

    init(maxEntries: Int = 65536, maxBytes: Int = 32 << 20) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = maxBytes
        capacity = 1024
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, variant: 0, entry: nil), count: capacity)
    }

    deinit {
        removeAll()
        slots.deallocate()
    }

    /// Drops every answer when the zone is no longer at the generation they were computed from.
    func validate(generation: UInt64) {
        guard generation != self.generation else { return }
        removeAll()
        self.generation = generation
    }

    func removeAll() {
        for index in 0..<capacity where slots[index].entry != nil {
            slots[index].entry!.deallocate()
            slots[index].entry = nil
        }
        count = 0
        bytes = 0
    }

    private static let headerSize = MemoryLayout<Header>.stride

    private func matches(_ slot: Slot, _ query: CacheableQuery, _ packet: UnsafeRawBufferPointer) -> Bool {
        guard slot.hash == query.hash, slot.variant == query.variant, let entry = slot.entry else { return false }
        let header = entry.load(as: Header.self)
        guard Int(header.questionLength) == query.questionLength else { return false }
        return memcmp(entry + Self.headerSize, packet.baseAddress! + 12, query.questionLength) == 0
    }

    func lookup(_ query: CacheableQuery, in packet: UnsafeRawBufferPointer) -> Answer? {
        let mask = capacity - 1
        var index = query.hash & mask
        while let entry = slots[index].entry {
            if matches(slots[index], query, packet) {
                let header = entry.load(as: Header.self)
                return Answer(
                    response: UnsafeRawBufferPointer(
                        start: entry + Self.headerSize + Int(header.questionLength), count: Int(header.responseLength)),
                    rcode: header.rcode)
            }
            index = (index + 1) & mask
        }
        return nil
    }

    /// Keeps `response` as the answer to `query` (whose bytes are in `packet`).
    func insert(
        _ query: CacheableQuery, in packet: UnsafeRawBufferPointer, response: UnsafeRawBufferPointer,
        rcode: UInt16
    ) {
        guard response.count <= 0xFFFF else { return }
        let size = Self.headerSize + query.questionLength + response.count
        if count + 1 > maxEntries || bytes + size > maxBytes { removeAll() }
        guard size <= maxBytes else { return }
        if 2 * (count + 1) > capacity { grow() }
        let entry = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<Header>.alignment)
        entry.storeBytes(
            of: Header(
                questionLength: UInt16(query.questionLength), responseLength: UInt16(response.count), rcode: rcode),
            as: Header.self)
        (entry + Self.headerSize).copyMemory(from: packet.baseAddress! + 12, byteCount: query.questionLength)
        if response.count > 0 {
            (entry + Self.headerSize + query.questionLength).copyMemory(
                from: response.baseAddress!, byteCount: response.count)
        }
        let mask = capacity - 1
        var index = query.hash & mask
        while slots[index].entry != nil {
            if matches(slots[index], query, packet) {
                let old = slots[index].entry!
                bytes -=
                    Self.headerSize + Int(old.load(as: Header.self).questionLength)
                    + Int(old.load(as: Header.self).responseLength)
                old.deallocate()
                count -= 1
                break
            }
            index = (index + 1) & mask
        }
        slots[index] = Slot(hash: query.hash, variant: query.variant, entry: entry)
        count += 1
        bytes += size
    }

    private func grow() {
        let old = slots
        let oldCapacity = capacity
        capacity *= 2
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, variant: 0, entry: nil), count: capacity)
        let mask = capacity - 1
        for index in 0..<oldCapacity where old[index].entry != nil {
            var target = old[index].hash & mask
            while slots[target].entry != nil { target = (target + 1) & mask }
            slots[target] = old[index]
        }
        old.deallocate()
    }
}

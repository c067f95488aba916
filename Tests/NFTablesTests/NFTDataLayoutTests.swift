import Netlink
import Testing

@testable import NFTables

/// The byte form of set elements that `NFTNetlink` sends (checked against the kernel in `NetlinkKernelTests`).
struct NFTDataLayoutTests {
    @Test func concatenationPadsEveryFieldToFourBytes() throws {
        let layout = try #require(NFTDataLayout("ip daddr . meta l4proto . th dport . numgen random mod 16"))
        #expect(layout.length == 16)
        let (key, end) = try layout.encode("10.100.0.1 . tcp . 80 . 3", interval: false)
        #expect(end == nil)
        // address (network order), protocol + 3 zero bytes, port (network order) + 2, numgen in host order.
        #expect(key == [10, 100, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0] + withUnsafeBytes(of: UInt32(3)) { Array($0) })
    }

    @Test func aLoneFieldIsNotPadded() throws {
        #expect(try #require(NFTDataLayout("inet_service")).encode("8080", interval: false).key == [0x1f, 0x90])
        #expect(try #require(NFTDataLayout("meta l4proto")).encode("udp", interval: false).key == [17])
        #expect(
            try #require(NFTDataLayout("ipv4_addr")).encode("192.168.1.2", interval: false).key == [192, 168, 1, 2])
    }

    @Test func ipv6AndTypeNames() throws {
        let layout = try #require(NFTDataLayout("ipv6_addr . inet_service"))
        let key = try layout.encode("fd00::a . 53", interval: false).key
        #expect(key == [0xfd] + [UInt8](repeating: 0, count: 14) + [0x0a] + [0, 53, 0, 0])
    }

    @Test func intervalsGiveLowerAndUpperBounds() throws {
        let layout = try #require(NFTDataLayout("ip daddr . meta l4proto . th dport . ip saddr"))
        let (key, end) = try layout.encode("10.0.0.1 . tcp . 80-90 . 192.168.0.0/16", interval: true)
        #expect(key == [10, 0, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0, 192, 168, 0, 0])
        #expect(end == [10, 0, 0, 1, 6, 0, 0, 0, 0, 90, 0, 0, 192, 168, 255, 255])
        let (_, range) = try layout.encode("10.0.0.1 . 6 . 80 . 10.0.0.5-10.0.0.9", interval: true)
        #expect(range?.suffix(4) == [10, 0, 0, 9])
    }

    @Test func badTextIsRefused() throws {
        let layout = try #require(NFTDataLayout("ip daddr . th dport"))
        for text in [
            "10.0.0.1", "10.0.0.1 . 80 . 1", "10.0.0.256 . 80", "10.0.0.1 . 65536", "fd00::1 . 80", "10.0.0.1 . http",
            "10.0.0.01 . 80", "10.0.0.0/24 . 80",
        ] {
            #expect(throws: NFTDataLayout.EncodingError.self, "\(text)") {
                try layout.encode(text, interval: false)
            }
        }
        #expect(NFTDataLayout("ether saddr") == nil)
        #expect(NFTDataLayout("ip daddr . ct state") == nil)
    }

    @Test func unknownLayoutsAndLoneIntervalsAreLeftToText() throws {
        let lone = NFTSet(family: .inet, table: "t", name: "s", type: "ipv4_addr", flags: [.interval])
        #expect(throws: NFTablesError.self) { try NFTNetlink.encoder(for: lone) }
        let ether = NFTSet(family: .inet, table: "t", name: "s", type: "ether_addr")
        let error = try #require(throws: NFTablesError.self) { try NFTNetlink.encoder(for: ether) }
        #expect(error.code == .unavailable)
    }

    @Test func batchFlushesFirstAndSplitsElementsUnder64KiB() throws {
        let map = NFTSet(
            family: .inet, table: "t", name: "backends", typeOf: "ip daddr . th dport . numgen random mod 16",
            mapType: "ip daddr . th dport")
        let vmap = NFTSet(
            family: .inet, table: "t", name: "dispatch", typeOf: "ip daddr . th dport", mapType: "verdict")
        let elements = (0..<5000).map {
            Element(
                family: .inet, table: "t", set: "backends", key: "10.0.\($0 / 256).\($0 % 256) . 80 . \($0 % 16)",
                value: "10.1.0.1 . 8080")
        }
        let verdicts = [Element(family: .inet, table: "t", set: "dispatch", key: "10.0.0.1 . 80", value: "goto mod-5")]
        let messages = try NFTNetlink.replaceBatch(of: [map, vmap], with: elements + verdicts)
        func type(_ m: MessageBuilder) -> UInt16 { UInt16(m.bytes[4]) | UInt16(m.bytes[5]) << 8 }
        #expect(type(messages.first!) == 0x10)
        #expect(type(messages.last!) == 0x11)
        #expect(messages[1...2].allSatisfy { type($0) == 10 << 8 | 14 })
        let adds = messages.dropFirst(3).dropLast()
        #expect(adds.count > 2)
        #expect(adds.allSatisfy { type($0) == 10 << 8 | 12 && $0.bytes.count < 60_000 })
        #expect(throws: NFTablesError.self) {
            try NFTNetlink.replaceBatch(
                of: [map], with: [Element(family: .inet, table: "t", set: "other", key: "10.0.0.1 . 80 . 1")])
        }
    }

    @Test func verdictsAndTableComments() {
        #expect(NFTNetlink.verdict("goto mod-5")! == (-4, "mod-5"))
        #expect(NFTNetlink.verdict("jump x")! == (-3, "x"))
        #expect(NFTNetlink.verdict("drop")! == (0, nil))
        #expect(NFTNetlink.verdict("goto") == nil)
        let userData: [UInt8] = [1, 2, 9, 9, 0, 6] + Array("hello".utf8) + [0]
        #expect(NFTNetlink.comment(userData[...]) == "hello")
        #expect(NFTNetlink.comment([1, 2, 9, 9][...]) == nil)
    }
}

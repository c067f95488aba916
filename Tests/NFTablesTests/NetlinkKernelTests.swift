import Glibc
import NFTables
import Testing

/// Elements written over netlink (`replaceElements`) read back by nft exactly as the same elements written as text,
/// and a table's shape read without its elements (`tableInfo`). Each test makes its own table `weft-test-<random>`
/// (no base chains: no traffic is touched) and deletes it in a `defer`.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root"))
struct NetlinkKernelTests {
    static func objects(_ name: String) -> (Transaction, [NFTSet], [Element]) {
        let sets = [
            NFTSet(
                family: .inet, table: name, name: "backends4",
                typeOf: "ip daddr . meta l4proto . th dport . numgen random mod 16", mapType: "ip daddr . th dport"),
            NFTSet(
                family: .inet, table: name, name: "dispatch4", typeOf: "ip daddr . meta l4proto . th dport",
                mapType: "verdict"),
            NFTSet(family: .inet, table: name, name: "hairpin6", typeOf: "ip6 saddr . ip6 daddr"),
            NFTSet(family: .inet, table: name, name: "cluster-ips4", typeOf: "ip daddr"),
            NFTSet(
                family: .inet, table: name, name: "allow4", typeOf: "ip daddr . meta l4proto . th dport . ip saddr",
                flags: [.interval]),
        ]
        var tx = Transaction()
        tx.add(Table(family: .inet, name: name, comment: "weft test, skeleton 0123"))
        for set in sets { tx.add(set) }
        tx.add(Chain(family: .inet, table: name, name: "mod-2"))
        tx.add(Chain(family: .inet, table: name, name: "mod-3"))
        func element(_ set: String, _ key: String, _ value: String? = nil) -> Element {
            Element(family: .inet, table: name, set: set, key: key, value: value)
        }
        var elements = (0..<300).map {
            element("backends4", "10.100.\($0 / 100).\($0 % 100) . tcp . 80 . \($0 % 3)", "10.244.0.\($0 % 250) . 8080")
        }
        elements += [
            element("dispatch4", "10.100.0.1 . tcp . 80", "goto mod-3"),
            element("dispatch4", "10.100.0.2 . udp . 53", "goto mod-2"),
            element("hairpin6", "fd00::10 . fd00::10"),
            element("cluster-ips4", "10.100.0.1"),
            element("allow4", "10.200.0.1 . tcp . 443 . 192.168.0.0/16"),
            element("allow4", "10.200.0.1 . tcp . 443 . 10.0.0.1"),
        ]
        return (tx, sets, elements)
    }

    /// A set's elements as nft lists them.
    static func listed(_ backend: any NFTablesBackend, _ sets: [NFTSet]) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for set in sets {
            out[set.name] = try backend.listElements(family: .inet, table: set.table, set: set.name)
                .map { "\($0.key)\($0.value.map { " : \($0)" } ?? "")" }.sorted()
        }
        return out
    }

    @Test func netlinkElementsListAsTextElementsDo() throws {
        let backend = try #require(LibNFTables())
        let (viaText, viaNetlink) = (KernelTests.randomName(), KernelTests.randomName())
        defer {
            KernelTests.cleanUp(.inet, viaText)
            KernelTests.cleanUp(.inet, viaNetlink)
        }
        let (textSkeleton, textSets, textElements) = Self.objects(viaText)
        var tx = textSkeleton
        for element in textElements { tx.add(element) }
        try backend.apply(tx)

        let (skeleton, sets, elements) = Self.objects(viaNetlink)
        try backend.apply(skeleton)
        // A stale element is flushed by the replacement.
        var stale = Transaction()
        stale.add(Element(family: .inet, table: viaNetlink, set: "cluster-ips4", key: "10.100.9.9"))
        try backend.apply(stale)
        try backend.replaceElements(of: sets, with: elements)

        let expected = try Self.listed(backend, textSets)
        #expect(expected["backends4"]?.count == 300)
        #expect(try Self.listed(backend, sets) == expected)

        let info = try #require(try backend.tableInfo(family: .inet, table: viaNetlink))
        #expect(info.comment == "weft test, skeleton 0123")
        #expect(info.chains == ["mod-2", "mod-3"])
        #expect(info.sets == Set(sets.map(\.name)))
        #expect(info.maps == ["backends4", "dispatch4"])
        #expect(try backend.tableInfo(family: .inet, table: KernelTests.randomName()) == nil)
    }

    @Test func aFailingBatchChangesNothing() throws {
        let backend = try #require(LibNFTables())
        let name = KernelTests.randomName()
        defer { KernelTests.cleanUp(.inet, name) }
        let (skeleton, sets, elements) = Self.objects(name)
        try backend.apply(skeleton)
        try backend.replaceElements(of: sets, with: elements)
        let before = try Self.listed(backend, sets)
        // The last message names a chain that does not exist: the kernel refuses the batch, flushes included.
        let bad = Element(
            family: .inet, table: name, set: "dispatch4", key: "10.100.0.3 . tcp . 80", value: "goto nope")
        let error = try #require(throws: NFTablesError.self) {
            try backend.replaceElements(of: sets, with: Array(elements.prefix(10)) + [bad])
        }
        #expect(error.code == .notFound)
        #expect(try Self.listed(backend, sets) == before)
    }
}

import Glibc
import NFTables
import NFTablesTesting
import Testing

/// The two real backends against the kernel. Each test creates its own table `weft-test-<random>` and deletes it in
/// a `defer`; no other table is touched.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root"))
struct KernelTests {
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case command, library
        var testDescription: String { rawValue }

        func make() -> (any NFTablesBackend)? {
            switch self {
            case .command:
                let command = NFTCommand()
                return command.path == nil ? nil : command
            case .library:
                return LibNFTables()
            }
        }
    }

    static func randomName() -> String {
        "weft-test-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// Deletes the table with the `nft` command, whichever backend the test used.
    static func cleanUp(_ family: Family, _ name: String) {
        var tx = Transaction()
        tx.deleteIfExists(Table(family: family, name: name))
        try? NFTCommand().apply(tx)
    }

    @Test(arguments: Kind.allCases)
    func roundTrip(kind: Kind) throws {
        guard let backend = kind.make() else {
            print("skipping \(kind): backend not available")
            return
        }
        let name = Self.randomName()
        defer { Self.cleanUp(.inet, name) }

        let table = Table(family: .inet, name: name, comment: "weft test")
        let pre = Chain(
            family: .inet, table: name, name: "pre", type: .nat, hook: .prerouting, priority: "dstnat",
            policy: "accept", comment: "dnat")
        let post = Chain(
            family: .inet, table: name, name: "post", type: .nat, hook: .postrouting, priority: "srcnat")
        let filter = Chain(
            family: .inet, table: name, name: "forward-filter", type: .filter, hook: .forward, priority: "-10",
            policy: "accept")
        let svcA = Chain(family: .inet, table: name, name: "svc-a")
        let pods = NFTSet(family: .inet, table: name, name: "pods", type: "ipv4_addr", flags: [.interval])
        let svc = NFTSet(
            family: .inet, table: name, name: "svc", type: "ipv4_addr . inet_proto . inet_service",
            flags: [.timeout], comment: "services")
        let vmap = NFTSet(family: .inet, table: name, name: "services", type: "ipv4_addr", mapType: "verdict")
        let backends = NFTSet(
            family: .inet, table: name, name: "backends", typeOf: "ip daddr . th dport",
            mapType: "ip daddr . th dport")

        var tx = Transaction()
        tx.add(table)
        for chain in [pre, post, filter, svcA] { tx.add(chain) }
        for set in [pods, svc, vmap, backends] { tx.add(set) }
        tx.add(Rule(family: .inet, table: name, chain: "pre", body: "ip daddr vmap @services", comment: "services"))
        tx.add(
            Rule(
                family: .inet, table: name, chain: "post", body: "ip saddr @pods masquerade",
                comment: #"pod "net" masquerade"#))
        tx.add(Rule(family: .inet, table: name, chain: "post", body: "meta mark 0x00004000 masquerade"))
        tx.add(
            Rule(
                family: .inet, table: name, chain: "forward-filter",
                body: "ip daddr . meta l4proto . th dport @svc accept"))
        tx.add(
            Rule(
                family: .inet, table: name, chain: "svc-a",
                body: "meta l4proto tcp dnat ip to ip daddr . th dport map @backends"))
        tx.add(Element(family: .inet, table: name, set: "pods", key: "10.0.0.0/24", comment: "node a"))
        tx.add(Element(family: .inet, table: name, set: "pods", key: "10.0.1.0/24"))
        tx.add(
            Element(
                family: .inet, table: name, set: "svc", key: "10.96.0.1 . tcp . 443", comment: "kubernetes",
                timeout: "1h"))
        tx.add(Element(family: .inet, table: name, set: "services", key: "10.96.0.1", value: "goto svc-a"))
        tx.add(Element(family: .inet, table: name, set: "services", key: "10.96.0.2", value: "drop", comment: "x"))
        tx.add(Element(family: .inet, table: name, set: "backends", key: "10.96.0.1 . 443", value: "10.0.0.5 . 6443"))
        try backend.apply(tx)
        // Applying the same adds again is a no-op except for the rules, which are appended again; so don't.

        let names = try backend.listTableNames(family: .inet)
        #expect(names.contains { $0.family == .inet && $0.name == name })
        #expect(try backend.listTableNames(family: nil).contains { $0.name == name })
        #expect(try backend.tableExists(family: .inet, table: name))
        #expect(try !backend.tableExists(family: .ip6, table: name))

        let postRules = try backend.listRules(family: .inet, table: name, chain: "post")
        #expect(postRules.map(\.body) == ["ip saddr @pods masquerade", "meta mark 0x00004000 masquerade"])
        #expect(postRules.map(\.comment) == ["pod 'net' masquerade", nil])
        #expect(postRules.allSatisfy { $0.handle != nil && $0.chain == "post" && $0.table == name })
        let preRules = try backend.listRules(family: .inet, table: name, chain: "pre")
        #expect(preRules.map(\.body) == ["ip daddr vmap @services"])
        #expect(preRules.first?.comment == "services")

        let podElements = try backend.listElements(family: .inet, table: name, set: "pods")
        #expect(podElements.map(\.key) == ["10.0.0.0/24", "10.0.1.0/24"])
        #expect(podElements.map(\.comment) == ["node a", nil])
        let svcElements = try backend.listElements(family: .inet, table: name, set: "svc")
        #expect(svcElements.map(\.key) == ["10.96.0.1 . tcp . 443"])
        #expect(svcElements.first?.timeout == "1h")
        #expect(svcElements.first?.comment == "kubernetes")
        let verdicts = try backend.listElements(family: .inet, table: name, set: "services")
        #expect(verdicts.map(\.key) == ["10.96.0.1", "10.96.0.2"])
        #expect(verdicts.map(\.value) == ["goto svc-a", "drop"])
        #expect(verdicts.map(\.comment) == [nil, "x"])
        let mapped = try backend.listElements(family: .inet, table: name, set: "backends")
        #expect(mapped.map(\.key) == ["10.96.0.1 . 443"])
        #expect(mapped.map(\.value) == ["10.0.0.5 . 6443"])

        let text = try #require(try backend.listTable(family: .inet, table: name))
        #expect(text.contains("table inet \(name) {"))
        #expect(text.contains("comment \"weft test\""))
        #expect(text.contains("type nat hook prerouting priority dstnat; policy accept;"))
        #expect(try backend.listTable(family: .inet, table: Self.randomName()) == nil)

        // Delete a rule by handle, an element by key.
        var delete = Transaction()
        delete.delete(postRules[0])
        delete.delete(Element(family: .inet, table: name, set: "services", key: "10.96.0.2"))
        try backend.apply(delete)
        #expect(try backend.listRules(family: .inet, table: name, chain: "post").map(\.handle) == [postRules[1].handle])
        #expect(try backend.listElements(family: .inet, table: name, set: "services").map(\.key) == ["10.96.0.1"])

        // Insert before, add after and replace by handle.
        let kept = try #require(postRules[1].handle)
        var positions = Transaction()
        positions.insert(
            Rule(family: .inet, table: name, chain: "post", body: "meta mark 0x00000001 accept", handle: kept))
        positions.add(
            Rule(family: .inet, table: name, chain: "post", body: "meta mark 0x00000002 accept", handle: kept))
        positions.replace(Rule(family: .inet, table: name, chain: "post", body: "counter", comment: "r", handle: kept))
        try backend.apply(positions)
        let reordered = try backend.listRules(family: .inet, table: name, chain: "post")
        #expect(reordered.map(\.body) == ["meta mark 0x00000001 accept", "counter", "meta mark 0x00000002 accept"])
        #expect(reordered[1].handle == kept && reordered[1].comment == "r")
    }

    @Test(arguments: Kind.allCases)
    func failedTransactionChangesNothing(kind: Kind) throws {
        guard let backend = kind.make() else { return }
        let name = Self.randomName()
        defer { Self.cleanUp(.ip, name) }
        var setup = Transaction()
        setup.add(Table(family: .ip, name: name))
        setup.add(Chain(family: .ip, table: name, name: "c"))
        setup.add(NFTSet(family: .ip, table: name, name: "s", type: "ipv4_addr"))
        try backend.apply(setup)
        let before = try backend.listTable(family: .ip, table: name)

        var bad = Transaction()
        bad.add(Element(family: .ip, table: name, set: "s", key: "10.1.2.3"))
        bad.add(Rule(family: .ip, table: name, chain: "c", body: "counter"))
        bad.add(Rule(family: .ip, table: name, chain: "nochain", body: "counter"))
        bad.add(Chain(family: .ip, table: name, name: "d"))
        #expect {
            try backend.apply(bad)
        } throws: { error in
            guard let error = error as? NFTablesError else { return false }
            return error.code == .notFound && error.line == 3
                && error.lineText == "add rule ip \(name) nochain counter" && error.message.contains("No such file")
        }
        #expect(try backend.listTable(family: .ip, table: name) == before)

        var exists = Transaction()
        exists.create(Chain(family: .ip, table: name, name: "c"))
        #expect {
            try backend.apply(exists)
        } throws: { error in
            (error as? NFTablesError)?.code == .exists
        }

        // Element adds go to nft as one command per set; the error still names the operation.
        var grouped = Transaction()
        grouped.add(Element(family: .ip, table: name, set: "s", key: "10.1.2.4"))
        grouped.add(Element(family: .ip, table: name, set: "s", key: "10.1.2.5"))
        grouped.add(Rule(family: .ip, table: name, chain: "nochain", body: "counter"))
        #expect {
            try backend.apply(grouped)
        } throws: { error in
            guard let error = error as? NFTablesError else { return false }
            return error.line == 3 && error.lineText == "add rule ip \(name) nochain counter"
        }

        var syntax = Transaction()
        syntax.add(Rule(family: .ip, table: name, chain: "c", body: "ip saddr nonsense-here"))
        #expect {
            try backend.apply(syntax)
        } throws: { error in
            guard let error = error as? NFTablesError else { return false }
            return error.code == .commandFailed && error.line == 1
        }
        #expect(try backend.listTable(family: .ip, table: name) == before)
    }

    /// The fake's rules for what exists match the kernel's on the cases it models.
    @Test func fakeAgreesWithKernel() throws {
        let name = Self.randomName()
        defer { Self.cleanUp(.ip, name) }
        let kernel = NFTCommand()
        let fake = FakeNFTables()
        var setup = Transaction()
        setup.add(Table(family: .ip, name: name))
        setup.add(Chain(family: .ip, table: name, name: "a"))
        setup.add(Chain(family: .ip, table: name, name: "b"))
        setup.add(NFTSet(family: .ip, table: name, name: "s", type: "ipv4_addr"))
        setup.add(NFTSet(family: .ip, table: name, name: "m", type: "ipv4_addr", mapType: "verdict"))
        setup.add(Rule(family: .ip, table: name, chain: "a", body: "ip saddr @s jump b"))
        setup.add(Element(family: .ip, table: name, set: "s", key: "10.0.0.1"))
        setup.add(Element(family: .ip, table: name, set: "m", key: "10.0.0.1", value: "jump b"))
        try kernel.apply(setup)
        try fake.apply(setup)

        var cases: [Transaction] = []
        func make(_ build: (inout Transaction) -> Void) {
            var tx = Transaction()
            build(&tx)
            cases.append(tx)
        }
        make { $0.delete(Chain(family: .ip, table: name, name: "b")) }  // busy: jumped to
        make { $0.delete(NFTSet(family: .ip, table: name, name: "s", type: "ipv4_addr")) }  // busy: used
        make { $0.add(Element(family: .ip, table: name, set: "m", key: "10.0.0.1", value: "drop")) }  // exists
        make { $0.add(Element(family: .ip, table: name, set: "m", key: "10.0.0.1", value: "jump b")) }  // ok
        make { $0.create(Element(family: .ip, table: name, set: "s", key: "10.0.0.1")) }  // exists
        make { $0.flush(NFTSet(family: .ip, table: name, name: "m", type: "ipv4_addr")) }  // map flushed as set
        make { $0.delete(Element(family: .ip, table: name, set: "s", key: "10.0.0.9")) }  // missing
        make { $0.add(Rule(family: .ip, table: name, chain: "a", body: "counter", handle: 9999)) }  // missing
        make { $0.create(Table(family: .ip, name: name)) }  // exists
        make { $0.flush(Table(family: .ip, name: name)) }  // rules go, elements stay
        make { $0.delete(Chain(family: .ip, table: name, name: "a")) }  // ok: its rules go with it
        for tx in cases {
            var kernelCode: NFTablesError.Code? = nil
            var fakeCode: NFTablesError.Code? = nil
            do { try kernel.apply(tx) } catch let error as NFTablesError { kernelCode = error.code }
            do { try fake.apply(tx) } catch let error as NFTablesError { fakeCode = error.code }
            #expect(kernelCode == fakeCode, "\(tx.render())")
        }
        #expect(try kernel.listElements(family: .ip, table: name, set: "s").map(\.key) == ["10.0.0.1"])
        #expect(try fake.listElements(family: .ip, table: name, set: "s").map(\.key) == ["10.0.0.1"])
        #expect(try kernel.listRules(family: .ip, table: name, chain: "b").isEmpty)
    }

    /// Prints how long a small transaction takes with each backend (no assertion: the machine is noisy).
    @Test func applyTiming() throws {
        let name = Self.randomName()
        defer { Self.cleanUp(.ip, name) }
        var setup = Transaction()
        setup.add(Table(family: .ip, name: name))
        setup.add(Chain(family: .ip, table: name, name: "post", type: .nat, hook: .postrouting, priority: "srcnat"))
        setup.add(NFTSet(family: .ip, table: name, name: "pods", type: "ipv4_addr", flags: [.interval]))
        try NFTCommand().apply(setup)

        func small(_ i: Int) -> Transaction {
            var tx = Transaction()
            tx.add(Element(family: .ip, table: name, set: "pods", key: "10.1.\(i % 250).0/24", comment: "pod \(i)"))
            tx.add(Rule(family: .ip, table: name, chain: "post", body: "ip saddr 10.1.\(i % 250).0/24 masquerade"))
            tx.flush(Chain(family: .ip, table: name, name: "post"))
            return tx
        }
        func measure(_ backend: any NFTablesBackend, iterations: Int) throws -> Double {
            try backend.apply(small(0))
            var start = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            for i in 1...iterations { try backend.apply(small(i)) }
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &end)
            let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
            return seconds / Double(iterations) * 1000
        }
        let iterations = 100
        var spawnStart = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spawnStart)
        for _ in 1...iterations { _ = try ProcessRunner.run("/bin/true", arguments: []) }
        var spawnEnd = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spawnEnd)
        let spawn =
            (Double(spawnEnd.tv_sec - spawnStart.tv_sec) + Double(spawnEnd.tv_nsec - spawnStart.tv_nsec) / 1e9)
            / Double(iterations) * 1000
        print("ProcessRunner: /bin/true \(format(spawn)) ms per run")
        let command = try measure(NFTCommand(), iterations: iterations)
        var line = "nft apply timing (\(iterations) small transactions): nft -f - \(format(command)) ms each"
        if let library = LibNFTables() {
            let inProcess = try measure(library, iterations: iterations)
            line += ", libnftables \(format(inProcess)) ms each, ratio \(format(command / inProcess))x"
        } else {
            line += ", libnftables not loadable"
        }
        print(line)
    }

    private func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return String(scaled)
    }
}

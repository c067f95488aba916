import NFTables
import NFTablesTesting
import Testing

private func op(_ verb: Transaction.Verb, _ object: Transaction.Object) -> Transaction.Operation {
    Transaction.Operation(verb, object)
}

@Suite struct FakeNFTablesTests {
    static let table = Table(family: .inet, name: "weft", comment: "weft")
    static let post = Chain(
        family: .inet, table: "weft", name: "post", type: .nat, hook: .postrouting, priority: "srcnat",
        policy: "accept")
    static let svc = Chain(family: .inet, table: "weft", name: "svc-a")
    static let pods = NFTSet(family: .inet, table: "weft", name: "pods", type: "ipv4_addr", flags: [.interval])
    static let vmap = NFTSet(family: .inet, table: "weft", name: "services", type: "ipv4_addr", mapType: "verdict")

    func populated() throws -> FakeNFTables {
        let fake = FakeNFTables()
        var tx = Transaction()
        tx.add(Self.table)
        tx.add(Self.post)
        tx.add(Self.svc)
        tx.add(Self.pods)
        tx.add(Self.vmap)
        tx.add(Rule(family: .inet, table: "weft", chain: "post", body: "ip saddr @pods masquerade", comment: "masq"))
        tx.add(Rule(family: .inet, table: "weft", chain: "post", body: "ip daddr vmap @services"))
        tx.add(Element(family: .inet, table: "weft", set: "pods", key: "10.0.1.0/24"))
        tx.add(Element(family: .inet, table: "weft", set: "pods", key: "10.0.0.0/24", comment: "node \"a\""))
        tx.add(Element(family: .inet, table: "weft", set: "services", key: "10.96.0.1", value: "goto svc-a"))
        try fake.apply(tx)
        return fake
    }

    @Test func dumpIsCanonical() throws {
        let fake = try populated()
        #expect(
            fake.dump() == """
                add table inet weft { comment "weft" ; }
                add chain inet weft post { type nat hook postrouting priority srcnat ; policy accept ; }
                add chain inet weft svc-a
                add set inet weft pods { type ipv4_addr ; flags interval ; }
                add map inet weft services { type ipv4_addr : verdict ; }
                add rule inet weft post ip saddr @pods masquerade comment "masq"
                add rule inet weft post ip daddr vmap @services
                add element inet weft pods { 10.0.0.0/24 comment "node 'a'" }
                add element inet weft pods { 10.0.1.0/24 }
                add element inet weft services { 10.96.0.1 : goto svc-a }

                """)
        #expect(fake.applyCount == 1)
        // Loading the dump into a new fake gives the same dump.
        let copy = FakeNFTables()
        try copy.apply(fake.dumpTransaction())
        #expect(copy.dump() == fake.dump())
        #expect(try fake.listTable(family: .inet, table: "weft") == fake.dump())
        #expect(try fake.listTable(family: .ip, table: "weft") == nil)
    }

    @Test func tablesAreSortedInDump() throws {
        let fake = FakeNFTables()
        var tx = Transaction()
        tx.add(Table(family: .ip6, name: "b"))
        tx.add(Table(family: .inet, name: "z"))
        tx.add(Table(family: .inet, name: "a"))
        try fake.apply(tx)
        #expect(fake.dump() == "add table inet a\nadd table inet z\nadd table ip6 b\n")
        #expect(try fake.listTableNames(family: .inet).map(\.name) == ["a", "z"])
        #expect(try fake.listTableNames().count == 3)
    }

    @Test func handlesAreAssignedAndRulesListed() throws {
        let fake = try populated()
        let rules = try fake.listRules(family: .inet, table: "weft", chain: "post")
        #expect(rules.map(\.body) == ["ip saddr @pods masquerade", "ip daddr vmap @services"])
        #expect(rules.map(\.comment) == ["masq", nil])
        let handles = rules.compactMap(\.handle)
        #expect(handles.count == 2 && handles[0] < handles[1])

        var tx = Transaction()
        tx.add(Rule(family: .inet, table: "weft", chain: "post", body: "counter", handle: handles[0]))
        tx.insert(Rule(family: .inet, table: "weft", chain: "post", body: "ct state invalid drop"))
        tx.replace(Rule(family: .inet, table: "weft", chain: "post", body: "accept", handle: handles[1]))
        try fake.apply(tx)
        let after = try fake.listRules(family: .inet, table: "weft", chain: "post")
        #expect(after.map(\.body) == ["ct state invalid drop", "ip saddr @pods masquerade", "counter", "accept"])
        #expect(after[3].handle == handles[1])

        var delete = Transaction()
        delete.delete(after[2])
        try fake.apply(delete)
        #expect(try fake.listRules(family: .inet, table: "weft", chain: "post").count == 3)
    }

    @Test func elementsAreListedSorted() throws {
        let fake = try populated()
        let elements = try fake.listElements(family: .inet, table: "weft", set: "pods")
        #expect(elements.map(\.key) == ["10.0.0.0/24", "10.0.1.0/24"])
        #expect(elements[0].comment == "node 'a'")
        #expect(throws: NFTablesError.self) { try fake.listElements(family: .inet, table: "weft", set: "nope") }
        #expect(throws: NFTablesError.self) { try fake.listRules(family: .inet, table: "weft", chain: "nope") }
    }

    /// Each bad transaction starts with a valid operation, so a partial apply would show in the dump.
    @Test(
        arguments: [
            ("create of an existing table", NFTablesError.Code.exists, op(.create, .table(Self.table))),
            ("create of an existing chain", .exists, op(.create, .chain(Self.svc))),
            ("create of an existing set", .exists, op(.create, .set(Self.pods))),
            (
                "create of an existing element", .exists,
                op(.create, .element(Element(family: .inet, table: "weft", set: "pods", key: "10.0.1.0/24")))
            ),
            (
                "add of an existing key with another value", .exists,
                op(
                    .add,
                    .element(Element(family: .inet, table: "weft", set: "services", key: "10.96.0.1", value: "drop")))
            ),
            ("delete of a missing table", .notFound, op(.delete, .table(Table(family: .ip, name: "weft")))),
            (
                "delete of a missing chain", .notFound,
                op(.delete, .chain(Chain(family: .inet, table: "weft", name: "x")))
            ),
            ("flush of a missing chain", .notFound, op(.flush, .chain(Chain(family: .inet, table: "weft", name: "x")))),
            (
                "delete of a missing set", .notFound,
                op(.delete, .set(NFTSet(family: .inet, table: "weft", name: "x", type: "ipv4_addr")))
            ),
            (
                "flush of a map as a set", .notFound,
                op(.flush, .set(NFTSet(family: .inet, table: "weft", name: "services", type: "ipv4_addr")))
            ),
            (
                "delete of a missing element", .notFound,
                op(.delete, .element(Element(family: .inet, table: "weft", set: "pods", key: "10.9.9.0/24")))
            ),
            (
                "delete of a missing rule", .notFound,
                op(.delete, .rule(Rule(family: .inet, table: "weft", chain: "post", body: "", handle: 999)))
            ),
            (
                "a rule in a missing chain", .notFound,
                op(.add, .rule(Rule(family: .inet, table: "weft", chain: "nope", body: "accept")))
            ),
            (
                "a rule in a missing table", .notFound,
                op(.add, .rule(Rule(family: .ip, table: "weft", chain: "post", body: "accept")))
            ),
            (
                "a rule using a missing set", .notFound,
                op(.add, .rule(Rule(family: .inet, table: "weft", chain: "post", body: "ip saddr @nope drop")))
            ),
            (
                "a rule jumping to a missing chain", .notFound,
                op(.add, .rule(Rule(family: .inet, table: "weft", chain: "post", body: "jump nope")))
            ),
            (
                "an element in a missing set", .notFound,
                op(.add, .element(Element(family: .inet, table: "weft", set: "nope", key: "1.2.3.4")))
            ),
            (
                "a verdict to a missing chain", .notFound,
                op(
                    .add,
                    .element(Element(family: .inet, table: "weft", set: "services", key: "1.2.3.4", value: "jump x")))
            ),
            (
                "a map element without value", .commandFailed,
                op(.add, .element(Element(family: .inet, table: "weft", set: "services", key: "1.2.3.4")))
            ),
            (
                "a set element with a value", .commandFailed,
                op(.add, .element(Element(family: .inet, table: "weft", set: "pods", key: "1.2.3.4", value: "drop")))
            ),
            (
                "a timeout in a set without the flag", .commandFailed,
                op(.add, .element(Element(family: .inet, table: "weft", set: "pods", key: "1.2.3.4", timeout: "1s")))
            ),
            ("deleting a chain that a map jumps to", .busy, op(.delete, .chain(Self.svc))),
            ("deleting a set a rule uses", .busy, op(.delete, .set(Self.pods))),
            (
                "an invalid operation", .invalidTransaction,
                op(.delete, .rule(Rule(family: .inet, table: "weft", chain: "post", body: "")))
            ),
        ] as [(String, NFTablesError.Code, Transaction.Operation)])
    func allOrNothing(name: String, code: NFTablesError.Code, bad: Transaction.Operation) throws {
        let fake = try populated()
        let before = fake.dump()
        var tx = Transaction()
        tx.add(Chain(family: .inet, table: "weft", name: "new"))
        tx.add(Element(family: .inet, table: "weft", set: "pods", key: "10.0.9.0/24"))
        tx.add(Rule(family: .inet, table: "weft", chain: "post", body: "counter"))
        tx.append(bad)
        tx.add(Table(family: .ip, name: "after"))
        do {
            try fake.apply(tx)
            Issue.record("\(name) was accepted")
        } catch let error as NFTablesError {
            #expect(error.code == code, "\(name): \(error)")
            #expect(error.line == 4, "\(name): \(error)")
            #expect(error.lineText == tx.operations[3].render())
        }
        #expect(fake.dump() == before, "\(name) changed the state")
        #expect(fake.applyCount == 1)
    }

    @Test func idempotentAdds() throws {
        let fake = try populated()
        let before = fake.dump()
        var tx = Transaction()
        tx.add(Self.table)
        tx.add(Self.post)
        tx.add(Self.pods)
        tx.add(Element(family: .inet, table: "weft", set: "pods", key: "10.0.1.0/24"))
        tx.add(Element(family: .inet, table: "weft", set: "services", key: "10.96.0.1", value: "goto svc-a"))
        try fake.apply(tx)
        #expect(fake.dump() == before)
    }

    @Test func flushAndDelete() throws {
        let fake = try populated()
        var tx = Transaction()
        tx.flush(Self.table)  // rules go, sets and elements stay (as in the kernel)
        tx.flush(Self.vmap)
        tx.delete(Self.svc)
        tx.delete(Self.pods)
        try fake.apply(tx)
        #expect(
            fake.dump() == """
                add table inet weft { comment "weft" ; }
                add chain inet weft post { type nat hook postrouting priority srcnat ; policy accept ; }
                add map inet weft services { type ipv4_addr : verdict ; }

                """)
        var drop = Transaction()
        drop.delete(Self.table)
        try fake.apply(drop)
        #expect(fake.dump() == "")
        var again = Transaction()
        again.deleteIfExists(Self.table)
        try fake.apply(again)
        #expect(fake.dump() == "")
    }

    @Test func deletingAChainTakesItsRules() throws {
        let fake = try populated()
        var tx = Transaction()
        tx.delete(Self.post)
        tx.delete(Self.pods)  // no longer used once the rules of post are gone
        try fake.apply(tx)
        #expect(!fake.dump().contains("rule"))
        #expect(!fake.dump().contains("pods"))
    }

    @Test func injectedFailure() throws {
        let fake = FakeNFTables()
        fake.failNextApply(with: NFTablesError(code: .commandFailed, operation: "apply", message: "boom"))
        var tx = Transaction()
        tx.add(Self.table)
        #expect(throws: NFTablesError.self) { try fake.apply(tx) }
        #expect(fake.dump() == "")
        try fake.apply(tx)
        #expect(fake.dump() == "add table inet weft { comment \"weft\" ; }\n")
        fake.reset()
        #expect(fake.dump() == "")
    }

    @Test func referencesIgnoreQuotedText() throws {
        let fake = try populated()
        var tx = Transaction()
        tx.add(Rule(family: .inet, table: "weft", chain: "post", body: #"log prefix "jump nowhere @nothing" accept"#))
        tx.add(Rule(family: .inet, table: "weft", chain: "post", body: "ip daddr vmap { 1.1.1.1 : jump svc-a }"))
        try fake.apply(tx)
    }
}

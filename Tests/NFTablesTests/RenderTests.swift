import Testing

@testable import NFTables

@Suite struct RenderTests {
    @Test func tables() {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: "weft"))
        tx.add(Table(family: .ip, name: "weft", comment: "owned by weft"))
        tx.create(Table(family: .ip6, name: "weft"))
        tx.flush(Table(family: .ip, name: "weft"))
        tx.delete(Table(family: .ip, name: "weft", comment: "ignored on delete"))
        #expect(
            tx.render() == """
                add table inet weft
                add table ip weft { comment "owned by weft" ; }
                create table ip6 weft
                flush table ip weft
                delete table ip weft

                """)
        #expect(tx.count == 5)
        #expect(!tx.isEmpty)
        #expect(Transaction().isEmpty)
        #expect(Transaction().render() == "")
    }

    @Test func chains() {
        var tx = Transaction()
        tx.add(Chain(family: .inet, table: "weft", name: "services"))
        tx.add(
            Chain(
                family: .inet, table: "weft", name: "pre", type: .nat, hook: .prerouting, priority: "dstnat",
                policy: "accept", comment: "dnat"))
        tx.create(
            Chain(family: .ip, table: "weft", name: "post", type: .nat, hook: .postrouting, priority: "srcnat"))
        tx.add(
            Chain(
                family: .netdev, table: "weft", name: "ingress", type: .filter, hook: .ingress, priority: "-100",
                device: "eth0"))
        tx.add(Chain(family: .inet, table: "weft", name: "c", comment: "just a comment"))
        tx.flush(Chain(family: .inet, table: "weft", name: "services"))
        tx.delete(Chain(family: .inet, table: "weft", name: "pre", type: .nat, hook: .prerouting, priority: "dstnat"))
        #expect(
            tx.render() == """
                add chain inet weft services
                add chain inet weft pre { type nat hook prerouting priority dstnat ; policy accept ; comment "dnat" ; }
                create chain ip weft post { type nat hook postrouting priority srcnat ; }
                add chain netdev weft ingress { type filter hook ingress device "eth0" priority -100 ; }
                add chain inet weft c { comment "just a comment" ; }
                flush chain inet weft services
                delete chain inet weft pre

                """)
    }

    @Test func setsAndMaps() {
        var tx = Transaction()
        tx.add(NFTSet(family: .ip, table: "weft", name: "pods", type: "ipv4_addr", flags: [.interval]))
        tx.add(
            NFTSet(
                family: .inet, table: "weft", name: "svc", type: "ipv4_addr . inet_proto . inet_service",
                flags: [.timeout, .interval], timeout: "1h", comment: "services"))
        tx.add(NFTSet(family: .ip, table: "weft", name: "vmap", type: "ipv4_addr", mapType: "verdict"))
        tx.create(
            NFTSet(
                family: .ip, table: "weft", name: "backends", typeOf: "ip daddr . th dport",
                mapType: "ip daddr . th dport", flags: [.dynamic, .constant]))
        tx.add(NFTSet(family: .ip6, table: "weft", name: "seen", typeOf: "ip6 saddr", flags: [.timeout, .dynamic]))
        tx.flush(NFTSet(family: .ip, table: "weft", name: "pods", type: "ipv4_addr"))
        tx.flush(NFTSet(family: .ip, table: "weft", name: "vmap", type: "ipv4_addr", mapType: "verdict"))
        tx.delete(NFTSet(family: .ip, table: "weft", name: "vmap", type: "ipv4_addr", mapType: "verdict"))
        tx.delete(NFTSet(family: .ip, table: "weft", name: "pods", type: "ipv4_addr"))
        #expect(
            tx.render() == """
                add set ip weft pods { type ipv4_addr ; flags interval ; }
                add set inet weft svc { type ipv4_addr . inet_proto . inet_service ; flags interval,timeout ; timeout 1h ; comment "services" ; }
                add map ip weft vmap { type ipv4_addr : verdict ; }
                create map ip weft backends { typeof ip daddr . th dport : ip daddr . th dport ; flags constant,dynamic ; }
                add set ip6 weft seen { typeof ip6 saddr ; flags dynamic,timeout ; }
                flush set ip weft pods
                flush map ip weft vmap
                delete map ip weft vmap
                delete set ip weft pods

                """)
    }

    @Test func rules() {
        var tx = Transaction()
        tx.add(Rule(family: .ip, table: "weft", chain: "post", body: "ip saddr @pods masquerade"))
        tx.add(
            Rule(
                family: .ip, table: "weft", chain: "post", body: "ip daddr vmap @vmap",
                comment: #"pod "a" in ns 'b'"#))
        tx.add(Rule(family: .ip, table: "weft", chain: "post", body: "counter", handle: 7))
        tx.insert(Rule(family: .ip, table: "weft", chain: "post", body: "ct state established accept"))
        tx.insert(Rule(family: .ip, table: "weft", chain: "post", body: "drop", handle: 3))
        tx.replace(Rule(family: .ip, table: "weft", chain: "post", body: "accept", comment: "new", handle: 4))
        tx.delete(Rule(family: .ip, table: "weft", chain: "post", body: "ignored", comment: "ignored", handle: 5))
        #expect(
            tx.render() == """
                add rule ip weft post ip saddr @pods masquerade
                add rule ip weft post ip daddr vmap @vmap comment "pod 'a' in ns 'b'"
                add rule ip weft post handle 7 counter
                insert rule ip weft post ct state established accept
                insert rule ip weft post handle 3 drop
                replace rule ip weft post handle 4 accept comment "new"
                delete rule ip weft post handle 5

                """)
    }

    @Test func elements() {
        var tx = Transaction()
        tx.add(Element(family: .ip, table: "weft", set: "pods", key: "10.0.0.0/24"))
        tx.add(Element(family: .inet, table: "weft", set: "svc", key: "10.96.0.1 . tcp . 443", comment: "kubernetes"))
        tx.add(Element(family: .inet, table: "weft", set: "svc", key: "10.96.0.10 . udp . 53", timeout: "30s"))
        tx.add(
            Element(
                family: .ip, table: "weft", set: "vmap", key: "10.96.0.1", value: "goto svc-a",
                comment: "default/kubernetes", timeout: "1h1m"))
        tx.create(Element(family: .ip, table: "weft", set: "vmap", key: "10.96.0.2", value: "drop"))
        tx.add(Element(family: .ip, table: "weft", set: "backends", key: "10.96.0.1 . 443", value: "10.0.0.5 . 6443"))
        tx.delete(Element(family: .ip, table: "weft", set: "vmap", key: "10.96.0.1", value: "goto svc-a", comment: "x"))
        #expect(
            tx.render() == """
                add element ip weft pods { 10.0.0.0/24 }
                add element inet weft svc { 10.96.0.1 . tcp . 443 comment "kubernetes" }
                add element inet weft svc { 10.96.0.10 . udp . 53 timeout 30s }
                add element ip weft vmap { 10.96.0.1 timeout 1h1m comment "default/kubernetes" : goto svc-a }
                create element ip weft vmap { 10.96.0.2 : drop }
                add element ip weft backends { 10.96.0.1 . 443 : 10.0.0.5 . 6443 }
                delete element ip weft vmap { 10.96.0.1 }

                """)
    }

    @Test func commentsAreQuotedSafely() {
        #expect(NFTText.quote(#"say "hi""#) == #""say 'hi'""#)
        #expect(NFTText.quote("two\nlines\ttab") == #""two lines tab""#)
        #expect(NFTText.quote("; drop # not a command") == #""; drop # not a command""#)
        var tx = Transaction()
        tx.add(Table(family: .inet, name: "t", comment: "a\"b\nc"))
        #expect(tx.render() == "add table inet t { comment \"a'b c\" ; }\n")
        #expect(tx.render().split(separator: "\n").count == 1)
    }

    @Test func deleteIfExists() {
        var tx = Transaction()
        tx.deleteIfExists(Table(family: .inet, name: "weft", comment: "x"))
        #expect(tx.render() == "add table inet weft\ndelete table inet weft\n")
    }

    @Test(arguments: [
        (Transaction.Operation(.add, .table(Table(family: .ip, name: "bad name"))), "bad table name"),
        (Transaction.Operation(.add, .table(Table(family: .ip, name: "9lives"))), "bad table name"),
        (Transaction.Operation(.add, .chain(Chain(family: .ip, table: "t", name: "c;x"))), "bad chain name"),
        (
            Transaction.Operation(
                .add, .table(Table(family: .ip, name: "t", comment: String(repeating: "x", count: 129)))),
            "comment is 129 bytes"
        ),
        (
            Transaction.Operation(.delete, .rule(Rule(family: .ip, table: "t", chain: "c", body: "x"))),
            "needs its handle"
        ),
        (
            Transaction.Operation(.replace, .rule(Rule(family: .ip, table: "t", chain: "c", body: "x"))),
            "needs its handle"
        ),
        (
            Transaction.Operation(
                .add, .rule(Rule(family: .ip, table: "t", chain: "c", body: "accept\nflush ruleset"))), "line break"
        ),
        (
            Transaction.Operation(
                .add, .rule(Rule(family: .ip, table: "t", chain: "c", body: "accept; flush ruleset"))), "contains ';'"
        ),
        (Transaction.Operation(.add, .rule(Rule(family: .ip, table: "t", chain: "c", body: "  "))), "empty body"),
        (
            Transaction.Operation(.add, .element(Element(family: .ip, table: "t", set: "s", key: "1.2.3.4 }" + "\n"))),
            "line break"
        ),
        (
            Transaction.Operation(.add, .set(NFTSet(family: .ip, table: "t", name: "s"))),
            "exactly one of type and typeof"
        ),
        (
            Transaction.Operation(
                .add, .set(NFTSet(family: .ip, table: "t", name: "s", type: "ipv4_addr", typeOf: "ip daddr"))),
            "exactly one of type and typeof"
        ),
        (
            Transaction.Operation(.add, .chain(Chain(family: .ip, table: "t", name: "c", hook: .input, priority: "0"))),
            "needs a type"
        ),
        (
            Transaction.Operation(.add, .chain(Chain(family: .ip, table: "t", name: "c", type: .filter, hook: .input))),
            "needs a priority"
        ),
        (Transaction.Operation(.add, .chain(Chain(family: .ip, table: "t", name: "c", policy: "drop"))), "no hook"),
        (Transaction.Operation(.insert, .table(Table(family: .ip, name: "t"))), "only to rules"),
        (Transaction.Operation(.create, .rule(Rule(family: .ip, table: "t", chain: "c", body: "x"))), "use add"),
    ])
    func validationRejects(operation: Transaction.Operation, expected: String) {
        var tx = Transaction()
        tx.add(Table(family: .ip, name: "ok"))
        tx.append(operation)
        #expect {
            try tx.validate()
        } throws: { error in
            guard let error = error as? NFTablesError else { return false }
            return error.code == .invalidTransaction && error.line == 2 && error.message.contains(expected)
        }
    }

    @Test func validationAcceptsQuotedSemicolons() throws {
        var tx = Transaction()
        tx.add(Rule(family: .ip, table: "t", chain: "c", body: #"log prefix "a;b # c" accept"#))
        try tx.validate()
    }

    @Test func durations() {
        #expect(NFTText.duration(seconds: 0) == "0s")
        #expect(NFTText.duration(seconds: 30) == "30s")
        #expect(NFTText.duration(seconds: 3660) == "1h1m")
        #expect(NFTText.duration(seconds: 90061) == "1d1h1m1s")
    }

    @Test func names() {
        #expect(NFTText.isValidName("weft-test-abc123"))
        #expect(NFTText.isValidName("_x.y/z"))
        #expect(!NFTText.isValidName(""))
        #expect(!NFTText.isValidName("-x"))
        #expect(!NFTText.isValidName("a b"))
        #expect(!NFTText.isValidName(String(repeating: "a", count: 256)))
    }

    @Test func elementRunsAreGroupedPerSet() {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: "t"))
        for key in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            tx.add(Element(family: .inet, table: "t", set: "a", key: key, value: "accept"))
        }
        tx.add(Element(family: .inet, table: "t", set: "b", key: "10.0.0.9"))
        tx.delete(Element(family: .inet, table: "t", set: "b", key: "10.0.0.8"))
        let (text, operationOfLine) = tx.renderGrouped(groupSize: 2)
        #expect(
            text == """
                add table inet t
                add element inet t a { 10.0.0.1 : accept, 10.0.0.2 : accept }
                add element inet t a { 10.0.0.3 : accept }
                add element inet t b { 10.0.0.9 }
                delete element inet t b { 10.0.0.8 }

                """)
        #expect(operationOfLine == [0, 1, 3, 4, 5])
    }
}

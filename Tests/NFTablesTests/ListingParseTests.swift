import Testing

@testable import NFTables

/// nft's listing output (captured from nft 1.0.6) turned into values, without root.
@Suite struct ListingParseTests {
    @Test func rulesFromText() {
        let output = """
            table ip weft-exp {
            \tchain pre { # handle 1
            \t\tcomment "c1"
            \t\ttype nat hook prerouting priority dstnat; policy accept;
            \t\tip daddr vmap @vm comment "r1" # handle 8
            \t\tcounter comment "r2" # handle 9
            \t\tlog prefix "a # handle 3 comment " # handle 10
            \t\tmeta mark 0x00000002 # handle 11
            \t\tcomment "only" # handle 12
            \t}
            }
            """
        let rules = NFTListing.rules(output, family: .ip, table: "weft-exp", chain: "pre")
        #expect(
            rules == [
                Rule(family: .ip, table: "weft-exp", chain: "pre", body: "ip daddr vmap @vm", comment: "r1", handle: 8),
                Rule(family: .ip, table: "weft-exp", chain: "pre", body: "counter", comment: "r2", handle: 9),
                Rule(
                    family: .ip, table: "weft-exp", chain: "pre", body: #"log prefix "a # handle 3 comment ""#,
                    handle: 10),
                Rule(family: .ip, table: "weft-exp", chain: "pre", body: "meta mark 0x00000002", handle: 11),
                Rule(family: .ip, table: "weft-exp", chain: "pre", body: "", comment: "only", handle: 12),
            ])
    }

    @Test func elementsFromJSON() throws {
        let set = """
            {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"set": {"family": "ip", "name": "s", "table": "t", "type": ["ipv4_addr", "inet_proto", "inet_service"], "handle": 4, "comment": "set", "flags": ["interval", "timeout"], "timeout": 3600, "elem": [{"elem": {"val": {"concat": [{"prefix": {"addr": "10.0.0.0", "len": 24}}, "tcp", {"range": [80, 90]}]}, "timeout": 30, "expires": 29, "comment": "x"}}, {"concat": ["10.0.0.9", "udp", 53]}]}}]}
            """
        let elements = try NFTListing.elements(set, family: .ip, table: "t", set: "s", operation: "list")
        #expect(
            elements == [
                Element(
                    family: .ip, table: "t", set: "s", key: "10.0.0.0/24 . tcp . 80-90", comment: "x", timeout: "30s"),
                Element(family: .ip, table: "t", set: "s", key: "10.0.0.9 . udp . 53"),
            ])

        let map = """
            {"nftables": [{"metainfo": {"version": "1.0.6"}}, {"map": {"family": "ip", "name": "vm", "table": "t", "type": "ipv4_addr", "handle": 5, "map": "verdict", "elem": [[{"elem": {"val": "10.0.0.1", "comment": "e1"}}, {"jump": {"target": "target"}}], ["10.0.0.2", {"goto": {"target": "target"}}], ["10.0.0.3", {"drop": null}]]}}]}
            """
        let mapElements = try NFTListing.elements(map, family: .ip, table: "t", set: "vm", operation: "list")
        #expect(
            mapElements == [
                Element(family: .ip, table: "t", set: "vm", key: "10.0.0.1", value: "jump target", comment: "e1"),
                Element(family: .ip, table: "t", set: "vm", key: "10.0.0.2", value: "goto target"),
                Element(family: .ip, table: "t", set: "vm", key: "10.0.0.3", value: "drop"),
            ])

        let dataMap = """
            {"nftables": [{"map": {"family": "ip", "name": "tm", "table": "t", "elem": [[{"concat": ["10.1.1.1", 80]}, {"concat": ["10.2.2.2", 8080]}]]}}]}
            """
        #expect(
            try NFTListing.elements(dataMap, family: .ip, table: "t", set: "tm", operation: "list") == [
                Element(family: .ip, table: "t", set: "tm", key: "10.1.1.1 . 80", value: "10.2.2.2 . 8080")
            ])
    }

    @Test func tableNamesFromJSON() throws {
        let output = """
            {"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "ip", "name": "a", "handle": 1}}, {"table": {"family": "inet", "name": "b", "handle": 2}}]}
            """
        let names = try NFTListing.tableNames(output, operation: "list tables")
        #expect(names.map(\.family) == [.ip, .inet])
        #expect(names.map(\.name) == ["a", "b"])
    }

    @Test func badJSONIsAnError() {
        #expect(throws: NFTablesError.self) { try NFTListing.tableNames("not json", operation: "list tables") }
    }

    @Test func errorsPointAtTheLine() {
        let input = "add table ip t\nadd rule ip t nochain counter\n"
        let stderr = """
            /dev/stdin:2:15-21: Error: Could not process rule: No such file or directory
            add rule ip t nochain counter
                          ^^^^^^^
            """
        let error = NFTablesError.fromNFT(operation: "apply", errorOutput: stderr, input: input)
        #expect(error.code == .notFound)
        #expect(error.line == 2)
        #expect(error.lineText == "add rule ip t nochain counter")
        #expect(error.message == "Could not process rule: No such file or directory")
        #expect(error.description.contains("line 2: add rule ip t nochain counter"))

        let busy = NFTablesError.fromNFT(
            operation: "apply", errorOutput: "Error: Could not process rule: Device or resource busy\n",
            input: "delete chain ip t c\n")
        #expect(busy.code == .busy)
        #expect(busy.line == 1)

        let exists = NFTablesError.fromNFT(
            operation: "apply", errorOutput: "<cmdline>:1:1-20: Error: Could not process rule: File exists",
            input: "create table ip t\n")
        #expect(exists.code == .exists)
    }
}

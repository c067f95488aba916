import CNI
import Glibc
import Testing
import WeftNet

/// A throwaway data directory, removed when the test ends.
final class TempDir {
    let path: String
    init() {
        var template = Array("/tmp/weft-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    deinit { _ = system("rm -rf '\(path)'") }
}

@Suite struct IPAMTests {
    let dir = TempDir()

    func allocator(_ ipamJSON: String) throws -> IPAllocator {
        let config = try NetworkConfig.parse(
            Array(#"{"cniVersion":"1.1.0","name":"net","ipam":\#(ipamJSON)}"#.utf8))
        var ipam = try #require(config.ipam)
        ipam.dataDir = dir.path
        return IPAllocator(config: ipam, store: try IPAMStore(dataDir: dir.path, network: "net"))
    }

    func allocate(_ a: IPAllocator, _ id: String, _ requested: [String] = []) throws -> [String] {
        try a.store.withLock {
            try a.allocate(containerID: id, ifname: "eth0", requested: requested.map { IPAddress($0)! })
        }.map(\.address.description)
    }

    @Test func roundRobinSkipsTheGatewayAndContinuesAfterTheLast() throws {
        let a = try allocator(#"{"type":"weft-ipam","subnet":"10.5.0.0/29"}"#)
        #expect(try allocate(a, "a") == ["10.5.0.2/29"])
        #expect(try allocate(a, "b") == ["10.5.0.3/29"])
        a.store.release(containerID: "a", ifname: "eth0")
        // Round robin does not go back to the freed .2 until the range wraps.
        #expect(try allocate(a, "c") == ["10.5.0.4/29"])
        #expect(try allocate(a, "d") == ["10.5.0.5/29"])
        #expect(try allocate(a, "e") == ["10.5.0.6/29"])
        #expect(try allocate(a, "f") == ["10.5.0.2/29"])
    }

    @Test func exhaustionIsAnErrorAndLeavesNothing() throws {
        let a = try allocator(#"{"type":"weft-ipam","ranges":[[{"subnet":"10.6.0.0/30"}],[{"subnet":"fd06::/126"}]]}"#)
        #expect(try allocate(a, "a") == ["10.6.0.2/30", "fd06::2/126"])
        #expect(throws: CNIError.self) { try allocate(a, "b") }
        do {
            _ = try allocate(a, "b")
        } catch let e as CNIError {
            #expect(e.code == 100)
            #expect(e.msg.contains("no addresses left"))
        }
        // The IPv4 set was exhausted; the IPv6 address must not be left reserved for b (none was taken first).
        #expect(a.store.reservations(containerID: "b", ifname: "eth0").isEmpty)
    }

    @Test func failureInTheSecondSetReleasesTheFirst() throws {
        let a = try allocator(
            #"{"type":"weft-ipam","ranges":[[{"subnet":"10.7.0.0/24"}],[{"subnet":"fd07::/64","rangeStart":"fd07::5","rangeEnd":"fd07::5"}]]}"#
        )
        _ = try allocate(a, "a")
        #expect(throws: CNIError.self) { try allocate(a, "b") }
        #expect(a.store.reservations(containerID: "b", ifname: "eth0").isEmpty)
    }

    @Test func dualStackGivesOneAddressPerSet() throws {
        let a = try allocator(
            #"{"type":"weft-ipam","ranges":[[{"subnet":"10.8.0.0/24","rangeStart":"10.8.0.100"}],[{"subnet":"fd08::/64"}]]}"#
        )
        #expect(try allocate(a, "a") == ["10.8.0.100/24", "fd08::2/64"])
    }

    @Test func explicitRequests() throws {
        let a = try allocator(#"{"type":"weft-ipam","ranges":[[{"subnet":"10.9.0.0/24"}],[{"subnet":"fd09::/64"}]]}"#)
        #expect(try allocate(a, "a", ["10.9.0.77"]) == ["10.9.0.77/24", "fd09::2/64"])
        // Taken by someone else.
        #expect(throws: CNIError.self) { try allocate(a, "b", ["10.9.0.77"]) }
        // Outside every range.
        #expect(throws: CNIError.self) { try allocate(a, "c", ["10.10.0.1"]) }
        // The same attachment asking again gets the same addresses (idempotent ADD).
        #expect(try allocate(a, "a", ["10.9.0.77"]) == ["10.9.0.77/24", "fd09::2/64"])
        #expect(a.store.reservations().count == 2)
    }

    @Test func multipleRangesInOneSet() throws {
        let a = try allocator(
            #"{"type":"weft-ipam","ranges":[[{"subnet":"10.11.0.0/30"},{"subnet":"10.11.1.0/30"}]]}"#)
        #expect(try allocate(a, "a") == ["10.11.0.2/30"])
        #expect(try allocate(a, "b") == ["10.11.1.2/30"])
    }

    @Test func storeLayoutIsHostLocals() throws {
        let a = try allocator(#"{"type":"weft-ipam","subnet":"10.12.0.0/24"}"#)
        _ = try allocate(a, "abc")
        let content = try #require(readFile("\(dir.path)/net/10.12.0.2"))
        #expect(content == "abc\r\neth0")
        #expect(readFile("\(dir.path)/net/last_reserved_ip.0") == "10.12.0.2")
    }

    func readFile(_ p: String) -> String? {
        guard let f = fopen(p, "r") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        while case let c = fgetc(f), c != EOF { out.append(UInt8(c)) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func concurrentAllocationsAreDistinct() async throws {
        let ipamJSON = #"{"type":"weft-ipam","subnet":"10.13.0.0/24"}"#
        let path = dir.path
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<40 {
                group.addTask {
                    // Each task opens its own store, as separate plugin processes would.
                    let config = try NetworkConfig.parse(
                        Array(#"{"cniVersion":"1.1.0","name":"net","ipam":\#(ipamJSON)}"#.utf8))
                    let a = IPAllocator(config: config.ipam!, store: try IPAMStore(dataDir: path, network: "net"))
                    return try a.store.withLock { try a.allocate(containerID: "c\(i)", ifname: "eth0", requested: []) }[
                        0
                    ]
                    .address.description
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(results).count == 40)
    }
}

import Glibc
import Netlink
import Testing

@Suite(.enabled(if: isRoot, "needs root"))
struct NetNSTests {
    /// A namespace whose maker died (a killed test run) is removed; one of a running process stays.
    @Test func abandonedNamespacesAreRemovedOwnedOnesKept() throws {
        let prefix = "weft-tab" + randomSuffix(4)
        // The PID of a process that has exited: a child that ran /bin/true and was reaped.
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        try #require(posix_spawn(&pid, "/bin/true", nil, nil, &argv, nil) == 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let dead = "\(prefix)-\(pid)-x"
        let legacy = "\(prefix)-1a2b3c-x"
        let mine = NetNS.ownedName(prefix: prefix, "x")
        for name in [dead, legacy, mine] { try NetNS.create(name: name).close() }
        defer { for name in [dead, legacy, mine] { try? NetNS.delete(name: name) } }
        #expect(Set(NetNS.removeAbandoned(prefix: prefix)) == [dead, legacy])
        #expect(access("/run/netns/\(mine)", F_OK) == 0 && access("/run/netns/\(dead)", F_OK) != 0)
    }

    @Test func createOpenRunDelete() throws {
        let name = "weft-t" + randomSuffix(8)
        let ns = try NetNS.create(name: name)
        defer {
            ns.close()
            try? NetNS.delete(name: name)
        }
        let before = try NetNS.current()
        defer { before.close() }
        #expect(ns.path == "/run/netns/\(name)")
        #expect(ns.inode != before.inode)

        let reopened = try NetNS.open(path: "/run/netns/\(name)")
        defer { reopened.close() }
        #expect(reopened.inode == ns.inode)
        #expect(reopened.isSame(as: ns))

        // run() enters the namespace on another thread and leaves the caller's thread alone.
        let inside = try ns.run { try NetNS.current().inode }
        #expect(inside == ns.inode)
        let after = try NetNS.current()
        defer { after.close() }
        #expect(after.inode == before.inode)

        // Errors thrown inside come back out.
        struct Marker: Error {}
        #expect(throws: Marker.self) { try ns.run { throw Marker() } }

        // A new namespace has only lo, and it is down.
        let links = try RouteSocket(netns: ns).links()
        #expect(links.map(\.name) == ["lo"])
        #expect(links.first?.isUp == false)

        // `ip netns` sees it.
        #expect(try run(["ip", "netns", "list"]).contains(name))

        try NetNS.delete(name: name)
        #expect(access("/run/netns/\(name)", F_OK) != 0)
        try NetNS.delete(name: name)  // missing is not an error
    }

    @Test func createExistingNameFails() throws {
        let name = "weft-t" + randomSuffix(8)
        let ns = try NetNS.create(name: name)
        defer {
            ns.close()
            try? NetNS.delete(name: name)
        }
        let error = try #require(throws: NetlinkError.self) { try NetNS.create(name: name) }
        #expect(error.errno == EEXIST)
        // The first namespace is untouched.
        #expect(try NetNS.open(name: name).inode == ns.inode)
    }

    @Test func openMissingPathNamesThePath() throws {
        let path = "/run/netns/weft-t-missing-" + randomSuffix()
        let error = try #require(throws: NetlinkError.self) { try NetNS.open(path: path) }
        #expect(error.errno == ENOENT)
        #expect(error.description.contains(path))
        #expect(error.description.contains("No such file or directory"))
    }

    @Test func socketStaysInItsNamespace() throws {
        try withNamespaces(2) { n in
            // Socket opened with netns: sees the namespace's links, from this (unchanged) thread.
            try n[0].socket.addBridge(name: "wftbr" + randomSuffix(4))
            #expect(try n[0].socket.links().count == 2)
            #expect(try n[1].socket.links().count == 1)
            // A socket opened inside run() is the same thing.
            let inside = try n[1].ns.run { try RouteSocket() }
            #expect(try inside.links().count == 1)
            inside.close()
            #expect(throws: NetlinkError.self) { try inside.links() }
        }
    }
}

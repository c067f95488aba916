import Foundation
import Glibc
import Netlink
import Testing

@Suite(.enabled(if: isRoot, "needs root"))
struct SysctlTests {
    @Test func writeInsideNamespaceLeavesHostAlone() throws {
        try withNamespaces(1) { n in
            let hostBefore = try Sysctl.read("net.ipv4.ip_forward")
            let target = hostBefore == "1" ? "0" : "1"
            let inside = try n[0].ns.run { () throws -> String in
                try Sysctl.write("net.ipv4.ip_forward", target)
                return try Sysctl.read("net/ipv4/ip_forward")
            }
            #expect(inside == target)
            #expect(try Sysctl.read("net.ipv4.ip_forward") == hostBefore)
            let viaIP = try run(["ip", "netns", "exec", n[0].name, "cat", "/proc/sys/net/ipv4/ip_forward"])
            #expect(viaIP.trimmingCharacters(in: .whitespacesAndNewlines) == target)
        }
    }

    @Test func interfaceNamesWithDots() throws {
        try withNamespaces(1) { n in
            let name = "wft" + randomSuffix(4) + ".7"
            try n[0].socket.addBridge(name: name)
            let value = try n[0].ns.run { () throws -> String in
                try Sysctl.write("net/ipv4/conf/\(name)/rp_filter", "2")
                return try Sysctl.read("net/ipv4/conf/\(name)/rp_filter")
            }
            #expect(value == "2")
        }
    }

    @Test func missingKeyNamesThePath() throws {
        let error = try #require(throws: NetlinkError.self) { try Sysctl.read("net.ipv4.no_such_key_weft") }
        #expect(error.errno == ENOENT)
        #expect(error.description.contains("/proc/sys/net/ipv4/no_such_key_weft"))
    }
}

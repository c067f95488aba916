import Testing
import WeftNet

@testable import Netlink

@Suite struct MessageTests {
    @Test func attributesAreAlignedAndNested() {
        var m = MessageBuilder(type: 16, flags: 0x600)
        m.attribute(3, string: "abc")  // 4 + 4 bytes
        m.attribute(4, u8: 7)  // 5 -> padded to 8
        m.nested(18) { inner in
            inner.attribute(1, string: "veth")
            inner.attribute(2, u32: 0xdead_beef)
        }
        let bytes = m.finished(sequence: 42)
        #expect(bytes.count % 4 == 0)
        #expect(bytes.count == 16 + 8 + 8 + 4 + 12 + 8)
        #expect(bytes[0] == UInt8(bytes.count))
        #expect(bytes[4] == 16 && bytes[6] == 0x00 && bytes[7] == 0x06)
        #expect(bytes[8] == 42)
        let attrs = Attributes(bytes[16...])
        #expect(attrs.string(3) == "abc")
        #expect(attrs.u8(4) == 7)
        let nested = attrs.nested(18)
        #expect(nested?.string(1) == "veth")
        #expect(nested?.u32(2) == 0xdead_beef)
        // The nested attribute carries NLA_F_NESTED; the parser masks it off.
        let nestedTypeOffset = 16 + 8 + 8 + 2
        #expect(bytes[nestedTypeOffset + 1] & 0x80 != 0)
    }

    @Test func truncatedAttributesAreIgnored() {
        let bytes: [UInt8] = [8, 0, 1, 0, 1, 2, 3, 4, 40, 0, 2, 0, 9]
        let attrs = Attributes(bytes[...])
        #expect(attrs.entries.count == 1)
        #expect(attrs.u32(1) == 0x0403_0201)
        #expect(attrs[2] == nil)
    }

    @Test func messagesSplitFromOneDatagram() {
        var a = MessageBuilder(type: 24, flags: 2)
        a.attribute(1, u32: 1)
        let b = MessageBuilder(type: 3, flags: 2)
        let datagram = a.finished(sequence: 7) + b.finished(sequence: 7)
        let messages = datagram.withUnsafeBytes { NetlinkMessage.parse($0) }
        #expect(messages.map(\.type) == [24, 3])
        #expect(messages.allSatisfy { $0.sequence == 7 })
        #expect(messages[0].payload.count == 8)
    }

    @Test func errorDescriptionNamesOperationAndErrno() {
        let e = NetlinkError(operation: "RTM_NEWLINK veth wft1a2b", errno: 17, kernelMessage: "name taken")
        #expect(e.description == "RTM_NEWLINK veth wft1a2b: File exists (EEXIST): name taken")
        #expect(e.isExists)
        #expect(!e.isNotFound)
    }

    @Test func sysctlPaths() {
        #expect(Sysctl.path("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward")
        #expect(Sysctl.path("net/ipv4/conf/eth0.100/forwarding") == "/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        #expect(Sysctl.path("/proc/sys/net/ipv6/conf/all/forwarding") == "/proc/sys/net/ipv6/conf/all/forwarding")
    }

    @Test func routeDescription() {
        let r = Route(
            destination: IPPrefix("0.0.0.0/0")!, gateway: IPAddress("10.0.0.1"), outputIndex: 3, table: 100,
            metric: 5)
        #expect(r.isDefault)
        #expect(r.description == "default via 10.0.0.1 dev 3 table 100 proto 3 metric 5")
        #expect(Route.defaultDestination(.v6).description == "::/0")
    }
}

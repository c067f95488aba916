import Testing
import WeftNet

@Suite struct AddressTests {
    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"), ("255.255.255.255", "255.255.255.255"),
        ("fd00::1", "fd00::1"), ("FD00:0:0:0:0:0:0:1", "fd00::1"), ("::", "::"), ("::1", "::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:db8::", "2001:db8::"),
        ("::ffff:10.1.2.3", "::ffff:a01:203"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func parsesAndPrintsCanonically(input: String, canonical: String) throws {
        #expect(try #require(IPAddress(input)).description == canonical)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "::1::", "1:2:3:4:5:6:7:8:9",
        "12345::", "g::1", " 10.0.0.1", "fd00::1/64",
    ])
    func rejectsMalformed(input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func bytesRoundTrip() {
        for s in ["192.0.2.7", "2001:db8::7"] {
            let a = IPAddress(s)!
            #expect(IPAddress(bytes: a.bytes) == a)
        }
        #expect(IPAddress("10.1.2.3")!.bytes == [10, 1, 2, 3])
    }

    @Test func arithmeticWrapsWithinTheFamily() {
        #expect(IPAddress("10.0.0.255")!.advanced(by: 1) == IPAddress("10.0.1.0"))
        #expect(IPAddress("10.0.1.0")!.advanced(by: -1) == IPAddress("10.0.0.255"))
        #expect(IPAddress("255.255.255.255")!.advanced(by: 1) == IPAddress("0.0.0.0"))
        #expect(IPAddress("fd00::ffff:ffff:ffff:ffff")!.advanced(by: 1) == IPAddress("fd00:0:0:1::"))
    }

    @Test func prefixes() throws {
        let p = try #require(IPPrefix("10.22.3.4/16"))
        #expect(!p.isNetworkAddress)
        #expect(p.network.description == "10.22.0.0/16")
        #expect(p.netmask.description == "255.255.0.0")
        #expect(p.lastAddress.description == "10.22.255.255")
        #expect(p.contains(IPAddress("10.22.200.1")!))
        #expect(!p.contains(IPAddress("10.23.0.1")!))
        #expect(!p.contains(IPAddress("fd00::1")!))
        let v6 = try #require(IPPrefix("fd00:1::/64"))
        #expect(v6.isNetworkAddress && v6.size == UInt128(1) << 64)
        #expect(v6.lastAddress.description == "fd00:1::ffff:ffff:ffff:ffff")
        #expect(IPPrefix("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        #expect(IPPrefix("10.0.0.0/33") == nil && IPPrefix("10.0.0.0/") == nil && IPPrefix("fd00::/129") == nil)
        #expect(IPPrefix("10.0.0.0/8")!.overlaps(IPPrefix("10.9.0.0/16")!))
        #expect(!IPPrefix("10.0.0.0/16")!.overlaps(IPPrefix("10.1.0.0/16")!))
    }

    @Test func macAddresses() {
        #expect(MACAddress("02:AA:bb:0c:dd:ee")?.description == "02:aa:bb:0c:dd:ee")
        #expect(MACAddress("02-aa-bb-0c-dd-ee") != nil)
        #expect(MACAddress("02:aa:bb:0c:dd") == nil && MACAddress("02:aa:bb:0c:dd:eee") == nil)
        let r = MACAddress.randomLocal()
        #expect(r.bytes[0] & 0x03 == 0x02)
    }
}

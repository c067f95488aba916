import CNI
import Testing
import WeftNet

@Suite struct NetworkConfigTests {
    func parse(_ s: String, role: PluginRole = .network) throws -> NetworkConfig {
        try NetworkConfig.parse(Array(s.utf8), role: role)
    }

    func code(_ s: String, role: PluginRole = .network) -> UInt32? {
        do {
            _ = try parse(s, role: role)
            return nil
        } catch let e as CNIError {
            return e.code
        } catch {
            return 999
        }
    }

    @Test func defaultsMatchTheReferenceBridge() throws {
        let c = try parse(#"{"cniVersion":"1.1.0","name":"n","type":"weft-cni"}"#)
        #expect(c.mode == .bridge)
        #expect(c.bridge == "weft0")
        #expect(!c.isGateway && !c.isDefaultGateway && !c.ipMasq && !c.hairpinMode && !c.promiscMode)
        #expect(c.mtu == nil && c.vlan == nil && c.ipam == nil)
    }

    @Test func nonMasqueradeCIDRsOfBothFamilies() throws {
        #expect(try parse(#"{"cniVersion":"1.1.0","name":"n"}"#).nonMasqueradeCIDRs.isEmpty)
        let c = try parse(
            #"{"cniVersion":"1.1.0","name":"n","ipMasq":true,"nonMasqueradeCIDRs":["10.244.0.0/16","fd00:10:244::/56"]}"#
        )
        #expect(c.nonMasqueradeCIDRs == [IPPrefix("10.244.0.0/16")!, IPPrefix("fd00:10:244::/56")!])
    }

    @Test(arguments: [
        (#""10.244.0.0/16""#, "'nonMasqueradeCIDRs' must be an array of CIDR strings"),
        (#"[16]"#, "'nonMasqueradeCIDRs' must be an array of CIDR strings"),
        (#"["10.244.0.0/16","banana"]"#, "'nonMasqueradeCIDRs': 'banana' is not a CIDR prefix"),
        (#"["10.244.0.1"]"#, "'nonMasqueradeCIDRs': '10.244.0.1' is not a CIDR prefix"),
        (#"["10.244.0.0/33"]"#, "'nonMasqueradeCIDRs': '10.244.0.0/33' is not a CIDR prefix"),
        (
            #"["10.244.1.0/16"]"#,
            "'nonMasqueradeCIDRs': '10.244.1.0/16' is not a network address (has host bits set); did you mean 10.244.0.0/16?"
        ),
    ])
    func badNonMasqueradeCIDRsNameTheKey(value: String, message: String) {
        #expect(throws: CNIError(.invalidConfig, message)) {
            try parse(#"{"cniVersion":"1.1.0","name":"n","ipMasq":true,"nonMasqueradeCIDRs":"# + value + "}")
        }
    }

    @Test func isDefaultGatewayImpliesIsGateway() throws {
        let c = try parse(#"{"cniVersion":"1.0.0","name":"n","type":"weft-cni","isDefaultGateway":true}"#)
        #expect(c.isGateway)
    }

    @Test func unknownKeysAreIgnored() throws {
        let c = try parse(#"{"cniVersion":"0.4.0","name":"n","type":"weft-cni","someday":{"x":[1,2]},"bridge":"br9"}"#)
        #expect(c.bridge == "br9")
    }

    @Test func runtimeConfigCapabilities() throws {
        let c = try parse(
            #"""
            {"cniVersion":"1.1.0","name":"n","type":"weft-cni",
             "runtimeConfig":{"mac":"02:11:22:33:44:55","ips":["10.1.0.9/24","fd00::9"],
               "portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"TCP"},
                               {"hostPort":53,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}]},
             "args":{"cni":{"ips":["10.1.0.10"]}}}
            """#)
        #expect(c.runtimeMAC == MACAddress("02:11:22:33:44:55"))
        #expect(c.requestedIPs == [IPAddress("10.1.0.9")!, IPAddress("fd00::9")!, IPAddress("10.1.0.10")!])
        #expect(
            c.portMappings == [
                PortMapping(hostPort: 8080, containerPort: 80, protocol: "tcp"),
                PortMapping(hostPort: 53, containerPort: 53, protocol: "udp", hostIP: "127.0.0.1"),
            ])
    }

    @Test(arguments: [
        (#"{"cniVersion":"1.1.0","name":"n""#, UInt32(6)),  // malformed JSON
        (#"[1,2]"#, 6),
        (#"{"cniVersion":"9.9.9","name":"n","type":"weft-cni"}"#, 1),
        (#"{"cniVersion":"0.2.0","name":"n","type":"weft-cni"}"#, 1),
        (#"{"name":"n","type":"weft-cni"}"#, 7),
        (#"{"cniVersion":"1.1.0","type":"weft-cni"}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"n","bridge":"a-very-long-bridge-name"}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"n","mode":"vepa"}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"n","mtu":"1500"}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"n","vlan":5000}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","subnet":"10.1.0.5/24"}}"#, 7),
        (
            #"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","subnet":"10.1.0.0/24","rangeStart":"10.2.0.1"}}"#,
            7
        ),
        (
            #"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","subnet":"10.1.0.0/24","rangeStart":"10.1.0.90","rangeEnd":"10.1.0.10"}}"#,
            7
        ),
        (#"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","subnet":"10.1.0.0/31"}}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","subnet":"banana"}}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam"}}"#, 7),
        (
            #"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","ranges":[[{"subnet":"10.1.0.0/24"},{"subnet":"fd00::/64"}]]}}"#,
            7
        ),
        (
            #"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","ranges":[[{"subnet":"10.1.0.0/16"}],[{"subnet":"10.1.2.0/24"}]]}}"#,
            7
        ),
        (
            #"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam","subnet":"10.1.0.0/24","routes":[{"dst":"nope"}]}}"#,
            7
        ),
        (#"{"cniVersion":"1.1.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]}}"#, 7),
        (
            #"{"cniVersion":"1.1.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":80,"protocol":"icmp"}]}}"#,
            7
        ),
        (#"{"cniVersion":"1.1.0","name":"n","runtimeConfig":{"mac":"zz"}}"#, 7),
        (#"{"cniVersion":"1.1.0","name":"../etc"}"#, 7),
    ])
    func badConfigGetsItsCode(input: String, expected: UInt32) {
        #expect(code(input) == expected, "\(input)")
    }

    @Test func ipamRoleIgnoresTheCallersKeys() throws {
        // A macvlan config calling weft-ipam: its `mode` is not ours to judge.
        let c = try parse(
            #"{"cniVersion":"1.0.0","name":"n","type":"macvlan","mode":"vepa","ipam":{"type":"weft-ipam","subnet":"10.3.0.0/24"}}"#,
            role: .ipam)
        #expect(c.ipam?.rangeSets.count == 1)
    }

    @Test func hostLocalDefaults() throws {
        let c = try parse(
            #"""
            {"cniVersion":"1.1.0","name":"n","ipam":{"type":"weft-ipam",
              "ranges":[[{"subnet":"10.22.0.0/16"}],[{"subnet":"fd22::/64","rangeStart":"fd22::10","gateway":"fd22::fe"}]],
              "routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.7.0/24","gw":"10.22.0.254"}],"dataDir":"/tmp/x"}}
            """#)
        let ipam = try #require(c.ipam)
        #expect(ipam.dataDir == "/tmp/x")
        let v4 = ipam.rangeSets[0][0]
        #expect(v4.rangeStart == IPAddress("10.22.0.1"))
        #expect(v4.rangeEnd == IPAddress("10.22.255.254"))
        #expect(v4.gateway == IPAddress("10.22.0.1"))
        let v6 = ipam.rangeSets[1][0]
        #expect(v6.rangeStart == IPAddress("fd22::10"))
        #expect(v6.rangeEnd == IPAddress("fd22::ffff:ffff:ffff:ffff"))
        #expect(v6.gateway == IPAddress("fd22::fe"))
        #expect(ipam.routes.count == 2)
        #expect(ipam.routes[1].gw == IPAddress("10.22.0.254"))
    }
}

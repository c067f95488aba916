import CNI
import Glibc
import Netlink
import Testing
import WeftNet

/// weft-cni in conflists with the reference plugins, and delegation in both directions. The reference plugins
/// (Debian's containernetworking-plugins) speak CNI up to 1.0.0, so these lists are 1.0.0.
extension KernelTests {
    @Suite(.enabled(if: isRoot && hasReferencePlugins, "needs root and the reference CNI plugins"))
    final class ChainingTests {
        let h: Harness

        init() throws { h = try Harness() }

        deinit {
            h.cleanup()
        }

        /// Runs a conflist as libcni does: ADD in order, each plugin seeing the previous result as prevResult;
        /// DEL in reverse order with the final result as prevResult.
        func runList(
            _ command: String, plugins: [String], name: String, id: String, netns: String, prev: String? = nil,
            runtimeConfig: String = "{}"
        ) throws -> CNIOutcome {
            var result = prev
            var last = CNIOutcome(exitStatus: 0, stdout: prev ?? "", stderr: "", json: nil)
            let order = command == "DEL" ? Array(plugins.reversed()) : plugins
            for p in order {
                var conf =
                    String(p.dropLast()) + #","cniVersion":"1.0.0","name":"\#(name)","runtimeConfig":\#(runtimeConfig)"#
                if let result, !result.isEmpty { conf += #","prevResult":\#(result)"# }
                conf += "}"
                let type = try JSONCoding.decode(JSONValue.self, from: Array(p.utf8), what: "plugin")["type"]!
                    .stringValue!
                last = try h.cni(command, config: conf, containerID: id, netns: netns, plugin: type)
                guard last.ok else { return last }
                if command == "ADD" { result = last.stdout }
            }
            return last
        }

        @Test func beforePortmapTuningAndBandwidth() throws {
            let bridge = h.name("wfk")
            h.ownLink(bridge)
            let plugins = [
                #"{"type":"weft-cni","bridge":"\#(bridge)","isDefaultGateway":true,"stateDir":"\#(h.dir)/state","ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/ipam","ranges":[[{"subnet":"10.210.20.0/24"}],[{"subnet":"fd10:20::/64"}]]}}"#,
                #"{"type":"tuning","sysctl":{"net.ipv4.conf.eth0.arp_notify":"1"}}"#,
                #"{"type":"portmap","capabilities":{"portMappings":true}}"#,
                #"{"type":"bandwidth","ingressRate":1000000,"ingressBurst":100000}"#,
            ]
            let ns = try h.makeNetNS("k")
            let nsName = ns.split(separator: "/").last!
            let rc = #"{"portMappings":[{"hostPort":18099,"containerPort":80,"protocol":"tcp"}]}"#
            let add = try runList("ADD", plugins: plugins, name: "chain", id: "pod-k", netns: ns, runtimeConfig: rc)
            #expect(add.ok, "\(add.stdout) \(add.stderr)")
            // weft-cni's result passed through the chain intact.
            #expect(add.json?["cniVersion"]?.stringValue == "1.0.0")
            #expect(add.addresses == ["10.210.20.2", "fd10:20::2"])
            #expect(sh("ip netns exec \(nsName) sysctl -n net.ipv4.conf.eth0.arp_notify").output.hasPrefix("1"))
            let hostVeth = HostVethName.make(containerID: "pod-k", ifname: "eth0")
            #expect(sh("tc qdisc show dev \(hostVeth)").output.contains("tbf"))
            #expect(sh("iptables-save -t nat").output.contains("18099"))
            let del = try runList(
                "DEL", plugins: plugins, name: "chain", id: "pod-k", netns: ns, prev: add.stdout, runtimeConfig: rc)
            #expect(del.ok, "\(del.stdout)")
            #expect(!sh("iptables-save -t nat").output.contains("18099"))
            #expect(sh("ip link show \(hostVeth)").status != 0)
        }

        @Test func delegatesToHostLocal() throws {
            let bridge = h.name("wfh")
            h.ownLink(bridge)
            let config = #"""
                {"cniVersion":"1.0.0","name":"hl","type":"weft-cni","bridge":"\#(bridge)","isGateway":true,"stateDir":"\#(h.dir)/state",
                 "ipam":{"type":"host-local","dataDir":"\#(h.dir)/hl","ranges":[[{"subnet":"10.210.21.0/24"}]]}}
                """#
            let ns = try h.makeNetNS("h")
            let add = try h.cni("ADD", config: config, containerID: "pod-h", netns: ns)
            #expect(add.ok, "\(add.stdout)")
            #expect(add.addresses == ["10.210.21.2"])
            #expect(FileSystemList.entries("\(h.dir)/hl/hl").contains("10.210.21.2"))
            #expect(try h.cni("DEL", config: config, containerID: "pod-h", netns: ns).ok)
            #expect(!FileSystemList.entries("\(h.dir)/hl/hl").contains("10.210.21.2"))
            // host-local's errors come back with its own code and message.
            let bad = config.replacingOccurrences("10.210.21.0/24", "10.210.21.1/24")
            let failed = try h.cni("ADD", config: bad, containerID: "pod-h2", netns: ns, ifname: "eth1")
            #expect(!failed.ok && failed.stdout.contains("host-local"), "\(failed.stdout)")
        }

        @Test func referenceBridgeUsesWeftIPAM() throws {
            let bridge = h.name("wfr")
            h.ownLink(bridge)
            let config = #"""
                {"cniVersion":"1.0.0","name":"wi","type":"bridge","bridge":"\#(bridge)","isGateway":true,
                 "ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/wi","ranges":[[{"subnet":"10.210.22.0/24"}],[{"subnet":"fd10:22::/64"}]]}}
                """#
            let ns = try h.makeNetNS("r")
            let add = try h.cni("ADD", config: config, containerID: "pod-r", netns: ns, plugin: "bridge")
            #expect(add.ok, "\(add.stdout)")
            #expect(add.addresses == ["10.210.22.2", "fd10:22::2"])
            #expect(sh("ip -n \(ns.split(separator: "/").last!) addr show eth0").output.contains("10.210.22.2/24"))
            #expect(try h.cni("DEL", config: config, containerID: "pod-r", netns: ns, plugin: "bridge").ok)
            #expect(FileSystemList.entries("\(h.dir)/wi/wi").filter { $0.hasPrefix("10.") }.isEmpty)
        }
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}

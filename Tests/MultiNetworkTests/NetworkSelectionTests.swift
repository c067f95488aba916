import CNI
import MultiNetwork
import Testing
import WeftNet

@Suite struct NetworkSelectionTests {
    func parse(_ s: String) throws -> [NetworkSelection] { try NetworkSelection.parse(annotation: s) }

    func error(_ s: String) -> String {
        do {
            _ = try NetworkSelection.parse(annotation: s)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func commaFormWithNamespacesAndInterfaces() throws {
        let nets = try parse(" net-a , other-ns/net-b@eth5,  ns2 / net-c @ net9 ")
        #expect(nets.map(\.name) == ["net-a", "net-b", "net-c"])
        #expect(nets.map(\.namespace) == [nil, "other-ns", "ns2"])
        #expect(nets.map(\.interface) == [nil, "eth5", "net9"])
    }

    @Test func emptyAnnotationSelectsNothing() throws {
        #expect(try parse("").isEmpty)
        #expect(try parse("   ").isEmpty)
    }

    @Test func commaFormErrorsNameTheProblem() {
        #expect(
            error("net-a,,net-b") == "annotation k8s.v1.cni.cncf.io/networks, network 2: name is empty (stray comma?)")
        #expect(error("a/b/c").contains("more than one '/'"))
        #expect(error("a@b@c").contains("more than one '@'"))
        #expect(error("/net-a").contains("namespace is empty"))
        #expect(error("net-a@").contains("interface is empty"))
        #expect(error("Net_A").contains("network 1: name \"Net_A\" is not a valid object name"))
        #expect(error("Bad.NS/net-a").contains("namespace \"Bad.NS\" is not a valid namespace name"))
        #expect(error("net-a@averyverylongname0").contains("interface \"averyverylongname0\" is longer than 15 bytes"))
    }

    @Test func jsonFormWithEveryKey() throws {
        let nets = try parse(
            #"""
            [{"name": "macvlan-conf", "interface": "data0", "ips": ["10.1.1.11/24", "fd00::11"],
              "mac": "c2:b0:57:49:47:f1", "default-route": ["10.1.1.1"], "cni-args": {"foo": "bar", "n": 1},
              "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "UDP"}],
              "bandwidth": {"ingressRate": 1000000, "egressBurst": 2000},
              "infiniband-guid": "c2:b0:57:49:47:f1:00:01"},
             {"name": "bridge-conf", "namespace": "infra"}]
            """#)
        #expect(nets.count == 2)
        let a = nets[0]
        #expect(a.name == "macvlan-conf" && a.namespace == nil && a.interface == "data0")
        #expect(a.ips == ["10.1.1.11/24", "fd00::11"])
        #expect(a.mac == MACAddress("c2:b0:57:49:47:f1"))
        #expect(a.defaultRoute == [IPAddress("10.1.1.1")!])
        #expect(a.cniArgs == ["foo": .string("bar"), "n": .number(1)])
        #expect(a.portMappings == [PortMapping(hostPort: 8080, containerPort: 80, protocol: "udp")])
        #expect(a.bandwidth == BandwidthRequest(ingressRate: 1_000_000, egressBurst: 2000))
        #expect(a.ignoredKeys == ["infiniband-guid"])
        #expect(nets[1].namespace == "infra" && nets[1].interface == nil)
    }

    @Test func malformedJSONIsNamed() {
        #expect(error(#"[{"name": "a""#).hasPrefix("annotation k8s.v1.cni.cncf.io/networks is malformed JSON: "))
        #expect(error(#"{"name": "a"}"#).contains("expected a JSON list of network selections, found an object"))
        #expect(error(#"["a"]"#).contains("network 1: entry is a string, not a JSON object"))
    }

    @Test func jsonFieldErrorsAreNamed() {
        #expect(error(#"[{"namespace": "x"}]"#).contains("network 1: name is missing"))
        #expect(error(#"[{"name": ""}]"#).contains("network 1: name is empty"))
        #expect(error(#"[{"name": "a"}, {"name": 3}]"#).contains("network 2: \"name\" is a number, not a string"))
        #expect(error(#"[{"name": "a", "namespace": "Not_Valid"}]"#).contains("is not a valid namespace name"))
        #expect(error(#"[{"name": "a", "interface": "eth 1"}]"#).contains("contains characters an interface name"))
        #expect(error(#"[{"name": "a", "interface": "a/b"}]"#).contains("interface \"a/b\""))
        #expect(
            error(#"[{"name": "a", "ips": ["10.1.1.300/24"]}]"#).contains("ips entry \"10.1.1.300/24\" is not an IP"))
        #expect(error(#"[{"name": "a", "ips": "10.1.1.1"}]"#).contains("\"ips\" is a string, not a list"))
        #expect(error(#"[{"name": "a", "mac": "zz:zz"}]"#).contains("mac \"zz:zz\" is not a MAC address"))
        #expect(error(#"[{"name": "a", "default-route": ["gw"]}]"#).contains("default-route entry \"gw\""))
        #expect(error(#"[{"name": "a", "cni-args": [1]}]"#).contains("cni-args is a list, not an object"))
        #expect(
            error(#"[{"name": "a", "portMappings": [{"hostPort": 0, "containerPort": 80}]}]"#)
                .contains("portMappings[0] \"hostPort\" is not a port 1-65535"))
        #expect(
            error(#"[{"name": "a", "portMappings": [{"hostPort": 1, "containerPort": 80, "protocol": "icmp"}]}]"#)
                .contains("\"protocol\" is not tcp, udp or sctp"))
        #expect(
            error(#"[{"name": "a", "bandwidth": {"ingressRate": -1}}]"#).contains(
                "\"ingressRate\" is not a non-negative"))
    }
}

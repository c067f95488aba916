import CNI
import MultiNetwork
import Testing
import WeftNet

@Suite struct NetworkStatusTests {
    @Test func annotationFromResults() throws {
        let p = try plan("macvlan-conf,br@data")
        let cluster = CNIResult(
            interfaces: [
                .init(name: "wf0123", mac: "02:00:00:00:00:01"),
                .init(name: "eth0", mac: "02:00:00:00:00:02", sandbox: "/run/netns/p"),
            ],
            ips: [
                .init(address: IPPrefix("10.22.0.5/16")!, interface: 1),
                .init(address: IPPrefix("fd22::5/64")!, interface: 1),
            ],
            dns: DNSConfig(nameservers: ["10.96.0.10"], search: ["team.svc.cluster.local"]))
        let macvlan = CNIResult(
            interfaces: [.init(name: "net1", mac: "c2:b0:57:49:47:f1", sandbox: "/run/netns/p")],
            ips: [.init(address: IPPrefix("10.1.1.11/24")!, interface: 0)])
        // A bridge result lists the host bridge and veth first; the pod's is the sandboxed one.
        let bridge = CNIResult(
            interfaces: [
                .init(name: "br1", mac: "aa:00:00:00:00:01"), .init(name: "veth1", mac: "aa:00:00:00:00:02"),
                .init(name: "data", mac: "aa:00:00:00:00:03", sandbox: "/run/netns/p"),
            ],
            ips: [.init(address: IPPrefix("10.10.0.7/24")!, gateway: IPAddress("10.10.0.1"), interface: 2)])
        let steps = p.addOrder
        let statuses = NetworkStatus.build(
            clusterNetworkName: "weft", results: [(steps[0], cluster), (steps[1], macvlan), (steps[2], bridge)])
        #expect(statuses.map(\.name) == ["weft", "team/macvlan-conf", "team/br"])
        #expect(statuses.map(\.interface) == ["eth0", "net1", "data"])
        #expect(statuses.map(\.isDefault) == [true, false, false])
        #expect(
            NetworkStatus.annotationValue(statuses)
                == #"[{"default":true,"dns":{"nameservers":["10.96.0.10"],"search":["team.svc.cluster.local"]},"interface":"eth0","ips":["10.22.0.5","fd22::5"],"mac":"02:00:00:00:00:02","name":"weft"},"#
                + #"{"dns":{},"interface":"net1","ips":["10.1.1.11"],"mac":"c2:b0:57:49:47:f1","name":"team/macvlan-conf"},"#
                + #"{"dns":{},"interface":"data","ips":["10.10.0.7"],"mac":"aa:00:00:00:00:03","name":"team/br"}]"#)
    }

    @Test func resultWithoutInterfacesUsesTheRequestedName() {
        let s = NetworkStatus(
            name: "team/x", ifname: "net1", result: CNIResult(ips: [.init(address: IPPrefix("10.0.0.2/24")!)]),
            isDefault: false)
        #expect(s.interface == "net1" && s.mac == nil && s.ips == ["10.0.0.2"])
    }
}

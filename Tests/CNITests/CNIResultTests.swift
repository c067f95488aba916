import CNI
import Testing
import WeftNet

@Suite struct CNIResultTests {
    var sample: CNIResult {
        var r = CNIResult(
            interfaces: [
                .init(name: "weft0", mac: "02:00:00:00:00:01"),
                .init(name: "wf0123456789ab", mac: "02:00:00:00:00:02"),
                .init(name: "eth0", mac: "02:00:00:00:00:03", mtu: 1400, sandbox: "/run/netns/p"),
            ],
            ips: [
                .init(address: IPPrefix("10.22.0.5/16")!, gateway: IPAddress("10.22.0.1"), interface: 2),
                .init(address: IPPrefix("fd22::5/64")!, gateway: IPAddress("fd22::1"), interface: 2),
            ],
            routes: [.init(dst: IPPrefix("0.0.0.0/0")!, gw: IPAddress("10.22.0.1"))])
        r.routes[0].priority = 100
        r.dns = DNSConfig(nameservers: ["10.96.0.10"], domain: nil, search: ["svc.cluster.local"], options: nil)
        return r
    }

    func text(_ v: String) -> String { String(decoding: sample.encoded(version: v), as: UTF8.self) }

    @Test func version110CarriesEverything() {
        #expect(
            text("1.1.0")
                == #"{"cniVersion":"1.1.0","dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]},"interfaces":[{"mac":"02:00:00:00:00:01","name":"weft0"},{"mac":"02:00:00:00:00:02","name":"wf0123456789ab"},{"mac":"02:00:00:00:00:03","mtu":1400,"name":"eth0","sandbox":"/run/netns/p"}],"ips":[{"address":"10.22.0.5/16","gateway":"10.22.0.1","interface":2},{"address":"fd22::5/64","gateway":"fd22::1","interface":2}],"routes":[{"dst":"0.0.0.0/0","gw":"10.22.0.1","priority":100}]}"#
        )
    }

    @Test func version100DropsTheNewFields() {
        let t = text("1.0.0")
        #expect(t.contains(#""cniVersion":"1.0.0""#))
        #expect(!t.contains("mtu") && !t.contains("priority") && !t.contains(#""version""#))
        #expect(t.contains(#"{"dst":"0.0.0.0/0","gw":"10.22.0.1"}"#))
    }

    @Test(arguments: ["0.3.0", "0.3.1", "0.4.0"])
    func legacyVersionsNameTheIPVersion(v: String) {
        let t = text(v)
        #expect(t.contains(#""cniVersion":"\#(v)""#))
        #expect(t.contains(#"{"address":"10.22.0.5/16","gateway":"10.22.0.1","interface":2,"version":"4"}"#))
        #expect(t.contains(#"{"address":"fd22::5/64","gateway":"fd22::1","interface":2,"version":"6"}"#))
        #expect(!t.contains("mtu"))
    }

    @Test(arguments: CNIVersion.supported)
    func roundTripsThroughEveryVersion(v: String) throws {
        let back = try CNIResult.parse(sample.json(version: v))
        #expect(back.ips == sample.ips)
        #expect(back.interfaces.map(\.name) == sample.interfaces.map(\.name))
        #expect(back.routes.map(\.dst) == sample.routes.map(\.dst))
    }

    @Test func chainingAppendsAndReindexes() throws {
        var prev = CNIResult(
            interfaces: [.init(name: "x")], ips: [.init(address: IPPrefix("10.9.0.2/24")!, interface: 0)])
        prev.append(sample)
        #expect(prev.interfaces.count == 4)
        #expect(prev.ips.map(\.interface) == [0, 3, 3])
    }

    @Test func oldResultsAreRefused() {
        #expect(throws: CNIError.self) {
            try CNIResult.parse(.object(["cniVersion": .string("0.2.0"), "ip4": .object([:])]))
        }
    }
}

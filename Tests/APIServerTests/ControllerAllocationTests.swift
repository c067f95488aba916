import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

@Suite("Service IP and node port allocation, Node pod CIDRs, namespace labels")
struct ControllerAllocationTests {
    let services = "/api/v1/namespaces/default/services"

    func serviceJSON(_ name: String, spec: String = "") -> String {
        let extra = spec.isEmpty ? "" : ", " + spec
        return """
            {"metadata": {"name": "\(name)"}, "spec": {"selector": {"app": "\(name)"},
             "ports": [{"name": "http", "port": 80}]\(extra)}}
            """
    }

    func inRange(_ text: String?, _ cidr: String) -> Bool {
        guard let text, let address = IPAddress(text), let prefix = IPPrefix(cidr) else { return false }
        return prefix.contains(address)
    }

    @Test func singleAndDualStack() async throws {
        try await withServer { _, client in
            let single = try await client.request(.POST, services, json: serviceJSON("single"))
            #expect(single.status == 201)
            let ip = single.json.string("spec.clusterIP")
            #expect(inRange(ip, "10.96.0.0/12"))
            #expect(single.json.at("spec.clusterIPs") == .array([.string(ip ?? "")]))
            #expect(single.json.at("spec.ipFamilies") == .array([.string("IPv4")]))
            #expect(single.json.string("spec.ipFamilyPolicy") == "SingleStack")
            #expect(single.json.string("spec.internalTrafficPolicy") == "Cluster")
            #expect(single.json.at("spec.ports.0.nodePort") == nil)

            let dual = try await client.request(
                .POST, services, json: serviceJSON("dual", spec: #""ipFamilyPolicy": "PreferDualStack""#))
            #expect(dual.status == 201)
            #expect(dual.json.at("spec.ipFamilies") == .array([.string("IPv4"), .string("IPv6")]))
            #expect(inRange(dual.json.string("spec.clusterIPs.0"), "10.96.0.0/12"))
            #expect(inRange(dual.json.string("spec.clusterIPs.1"), "fd00:10:96::/108"))
            #expect(dual.json.string("spec.clusterIP") == dual.json.string("spec.clusterIPs.0"))

            let v6first = try await client.request(
                .POST, services, json: serviceJSON("v6first", spec: #""ipFamilies": ["IPv6", "IPv4"]"#))
            #expect(v6first.status == 201)
            #expect(v6first.json.string("spec.ipFamilyPolicy") == "RequireDualStack")
            #expect(inRange(v6first.json.string("spec.clusterIPs.0"), "fd00:10:96::/108"))
            #expect(inRange(v6first.json.string("spec.clusterIPs.1"), "10.96.0.0/12"))

            let v6only = try await client.request(
                .POST, services, json: serviceJSON("v6only", spec: #""ipFamilies": ["IPv6"]"#))
            #expect(v6only.json.at("spec.clusterIPs")?.arrayValue?.count == 1)
            #expect(inRange(v6only.json.string("spec.clusterIP"), "fd00:10:96::/108"))

            let wrong = try await client.request(
                .POST, services,
                json: serviceJSON("wrong", spec: #""ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4", "IPv6"]"#))
            #expect(wrong.status == 422)

            // An update that leaves the allocation out keeps it; changing it is refused.
            var body = single.json
            body.setPath("spec.clusterIP", nil)
            body.setPath("spec.clusterIPs", nil)
            body.setPath("metadata.resourceVersion", nil)
            let updated = try await client.request(
                .PUT, services + "/single", body: Data(try body.jsonText().utf8))
            #expect(updated.status == 200)
            #expect(updated.json.string("spec.clusterIP") == ip)
            body.setPath("spec.clusterIP", .string("10.96.0.77"))
            let changed = try await client.request(.PUT, services + "/single", body: Data(try body.jsonText().utf8))
            #expect(changed.status == 422)
        }
    }

    @Test func singleStackCluster() async throws {
        try await withServer(configure: { $0.serviceCIDRs = ["10.100.0.0/16"] }) { _, client in
            let prefer = try await client.request(
                .POST, services, json: serviceJSON("prefer", spec: #""ipFamilyPolicy": "PreferDualStack""#))
            #expect(prefer.status == 201)
            #expect(prefer.json.at("spec.ipFamilies") == .array([.string("IPv4")]))
            #expect(inRange(prefer.json.string("spec.clusterIP"), "10.100.0.0/16"))
            let require = try await client.request(
                .POST, services, json: serviceJSON("require", spec: #""ipFamilyPolicy": "RequireDualStack""#))
            #expect(require.status == 422)
            let v6 = try await client.request(
                .POST, services, json: serviceJSON("v6", spec: #""ipFamilies": ["IPv6"]"#))
            #expect(v6.status == 422)
        }
    }

    @Test func explicitClusterIPs() async throws {
        try await withServer { _, client in
            let first = try await client.request(
                .POST, services, json: serviceJSON("first", spec: #""clusterIP": "10.96.0.50""#))
            #expect(first.status == 201)
            #expect(first.json.string("spec.clusterIP") == "10.96.0.50")

            let clash = try await client.request(
                .POST, services, json: serviceJSON("clash", spec: #""clusterIP": "10.96.0.50""#))
            #expect(clash.status == 422)
            #expect(clash.json.string("reason") == "Invalid")
            #expect(clash.json.string("message")?.contains("provided IP is already allocated") == true)
            #expect(clash.json.string("message")?.hasPrefix("Service \"clash\" is invalid: spec.clusterIPs") == true)

            let outside = try await client.request(
                .POST, services, json: serviceJSON("outside", spec: #""clusterIP": "192.168.0.1""#))
            #expect(outside.status == 422)
            #expect(outside.json.string("message")?.contains("not in the valid range") == true)

            let dual = try await client.request(
                .POST, services,
                json: serviceJSON(
                    "dual",
                    spec: #""clusterIPs": ["10.96.0.51", "fd00:10:96::51"], "ipFamilyPolicy": "RequireDualStack""#
                ))
            #expect(dual.status == 201)
            #expect(dual.json.at("spec.ipFamilies") == .array([.string("IPv4"), .string("IPv6")]))
            let v6clash = try await client.request(
                .POST, services,
                json: serviceJSON("v6clash", spec: #""clusterIP": "fd00:10:96::51", "ipFamilies": ["IPv6"]"#))
            #expect(v6clash.status == 422)

            // Deleting releases the address.
            #expect(try await client.request(.DELETE, services + "/first").status == 200)
            let again = try await client.request(
                .POST, services, json: serviceJSON("again", spec: #""clusterIP": "10.96.0.50""#))
            #expect(again.status == 201)
        }
    }

    @Test func headlessAndExternalName() async throws {
        try await withServer { _, client in
            let headless = try await client.request(
                .POST, services, json: serviceJSON("headless", spec: #""clusterIP": "None""#))
            #expect(headless.status == 201)
            #expect(headless.json.string("spec.clusterIP") == "None")
            #expect(headless.json.at("spec.clusterIPs") == .array([.string("None")]))
            #expect(headless.json.at("spec.ipFamilies") == .array([.string("IPv4")]))
            #expect(headless.json.string("spec.ipFamilyPolicy") == "SingleStack")

            let external = try await client.request(
                .POST, services,
                json: #"{"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "example.com"}}"#
            )
            #expect(external.status == 201)
            #expect(external.json.at("spec.clusterIP") == nil)
            #expect(external.json.at("spec.clusterIPs") == nil)
            #expect(external.json.at("spec.ipFamilies") == nil)
        }
    }

    @Test func nodePorts() async throws {
        try await withServer { _, client in
            let random = try await client.request(
                .POST, services, json: serviceJSON("random", spec: #""type": "NodePort""#))
            #expect(random.status == 201)
            let port = try #require(random.json.number("spec.ports.0.nodePort"))
            #expect((30000...32767).contains(Int(port)))
            #expect(random.json.string("spec.externalTrafficPolicy") == "Cluster")

            let fixed = try await client.request(
                .POST, services,
                json:
                    #"{"metadata": {"name": "fixed"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}"#
            )
            #expect(fixed.status == 201)
            #expect(fixed.json.number("spec.ports.0.nodePort") == 30080)
            let clash = try await client.request(
                .POST, services,
                json:
                    #"{"metadata": {"name": "clash"}, "spec": {"type": "NodePort", "ports": [{"port": 81, "nodePort": 30080}]}}"#
            )
            #expect(clash.status == 422)
            #expect(
                clash.json.string("message")
                    == "Service \"clash\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: "
                    + "provided port is already allocated")
            let outside = try await client.request(
                .POST, services,
                json:
                    #"{"metadata": {"name": "outside"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 8080}]}}"#
            )
            #expect(outside.status == 422)
            #expect(outside.json.string("message")?.contains("30000-32767") == true)

            let local = try await client.request(
                .POST, services,
                json: serviceJSON("local", spec: #""type": "LoadBalancer", "externalTrafficPolicy": "Local""#))
            #expect(local.status == 201)
            let health = try #require(local.json.number("spec.healthCheckNodePort"))
            let lbPort = try #require(local.json.number("spec.ports.0.nodePort"))
            #expect(health != lbPort && (30000...32767).contains(Int(health)))

            // Back to ClusterIP: the node port is released and can be taken by another Service.
            let toClusterIP = try await client.request(
                .PATCH, services + "/fixed", json: #"{"spec": {"type": "ClusterIP"}}"#,
                contentType: "application/merge-patch+json")
            #expect(toClusterIP.status == 200)
            #expect(toClusterIP.json.at("spec.ports.0.nodePort") == nil)
            let reuse = try await client.request(
                .POST, services,
                json:
                    #"{"metadata": {"name": "reuse"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}"#
            )
            #expect(reuse.status == 201)
            // An update keeps the node port it does not mention.
            let relabel = try await client.request(
                .PATCH, services + "/reuse", json: #"{"metadata": {"labels": {"a": "b"}}}"#,
                contentType: "application/merge-patch+json")
            #expect(relabel.json.number("spec.ports.0.nodePort") == 30080)
        }
    }

    @Test func concurrentCreatesGetDistinctAllocations() async throws {
        try await withServer { _, client in
            let responses = try await withThrowingTaskGroup(of: JSONValue.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await client.request(
                            .POST, services,
                            json: serviceJSON(
                                "svc\(index)", spec: #""type": "NodePort", "ipFamilyPolicy": "PreferDualStack""#)
                        ).json
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.count == 50)
            let v4 = Set(responses.compactMap { $0.string("spec.clusterIPs.0") })
            let v6 = Set(responses.compactMap { $0.string("spec.clusterIPs.1") })
            let ports = Set(responses.compactMap { $0.number("spec.ports.0.nodePort") })
            #expect(v4.count == 50 && v6.count == 50 && ports.count == 50)
        }
    }

    @Test func restartKeepsAllocations() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        // 10.96.0.0/28 has 13 allocatable addresses (not the network, the first host, the broadcast).
        let configure: (inout APIServerConfiguration) -> Void = {
            $0.serviceCIDRs = ["10.96.0.0/28"]
            $0.nodePortRange = 30000...30012
        }
        var seen: [JSONValue] = try await withServer(dataDir: directory, configure: configure) { _, client in
            var created: [JSONValue] = []
            for index in 0..<6 {
                created.append(
                    try await client.request(
                        .POST, services, json: serviceJSON("before\(index)", spec: #""type": "NodePort""#)
                    ).json)
            }
            return created
        }
        try await withServer(dataDir: directory, configure: configure) { _, client in
            for index in 0..<7 {
                let created = try await client.request(
                    .POST, services, json: serviceJSON("after\(index)", spec: #""type": "NodePort""#))
                #expect(created.status == 201)
                seen.append(created.json)
            }
            let full = try await client.request(.POST, services, json: serviceJSON("full"))
            #expect(full.status == 500)
            #expect(full.json.string("message")?.contains("range is full") == true)
        }
        let addresses = seen.compactMap { $0.string("spec.clusterIP") }
        #expect(addresses.count == 13 && Set(addresses).count == 13)
        #expect(addresses.allSatisfy { inRange($0, "10.96.0.0/28") && $0 != "10.96.0.1" && $0 != "10.96.0.15" })
        let ports = seen.compactMap { $0.number("spec.ports.0.nodePort") }
        #expect(ports.count == 13 && Set(ports).count == 13)
    }

    @Test func nodePodCIDRs() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        func node(_ name: String, spec: String = "{}") -> String {
            #"{"metadata": {"name": "\#(name)"}, "spec": \#(spec)}"#
        }
        try await withServer(dataDir: directory) { _, client in
            var cidrs: [JSONValue] = []
            for name in ["n0", "n1", "n2"] {
                let created = try await client.request(.POST, "/api/v1/nodes", json: node(name))
                #expect(created.status == 201)
                cidrs.append(created.json.at("spec.podCIDRs") ?? .null)
                #expect(created.json.string("spec.podCIDR") == created.json.string("spec.podCIDRs.0"))
            }
            #expect(
                cidrs == [
                    .array([.string("10.244.0.0/24"), .string("fd00:10:244::/64")]),
                    .array([.string("10.244.1.0/24"), .string("fd00:10:244:1::/64")]),
                    .array([.string("10.244.2.0/24"), .string("fd00:10:244:2::/64")]),
                ])
            let own = try await client.request(
                .POST, "/api/v1/nodes", json: node("own", spec: #"{"podCIDR": "10.244.3.0/24"}"#))
            #expect(own.json.at("spec.podCIDRs") == .array([.string("10.244.3.0/24")]))
            #expect(try await client.request(.DELETE, "/api/v1/nodes/n1").status == 200)
        }
        try await withServer(dataDir: directory) { _, client in
            let reused = try await client.request(.POST, "/api/v1/nodes", json: node("n3"))
            #expect(reused.json.string("spec.podCIDR") == "10.244.1.0/24", "n1's CIDR was released")
            let next = try await client.request(.POST, "/api/v1/nodes", json: node("n4"))
            #expect(next.json.string("spec.podCIDR") == "10.244.4.0/24", "n0, n2 and own keep theirs")
            #expect(next.json.string("spec.podCIDRs.1") == "fd00:10:244:3::/64")
        }
    }

    @Test func namespaceNameLabel() async throws {
        try await withServer { _, client in
            let created = try await client.request(
                .POST, "/api/v1/namespaces", json: #"{"metadata": {"name": "team", "labels": {"x": "y"}}}"#)
            #expect(created.json.at("metadata.labels")?["kubernetes.io/metadata.name"] == .string("team"))
            let relabeled = try await client.request(
                .PUT, "/api/v1/namespaces/team", json: #"{"metadata": {"name": "team", "labels": {"x": "z"}}}"#)
            #expect(relabeled.json.at("metadata.labels")?["kubernetes.io/metadata.name"] == .string("team"))
            let system = try await client.request(.GET, "/api/v1/namespaces/kube-system")
            #expect(system.json.at("metadata.labels")?["kubernetes.io/metadata.name"] == .string("kube-system"))
            let generated = try await client.request(
                .POST, "/api/v1/namespaces", json: #"{"metadata": {"generateName": "gen-"}}"#)
            let name = try #require(generated.json.string("metadata.name"))
            #expect(generated.json.at("metadata.labels")?["kubernetes.io/metadata.name"] == .string(name))
        }
    }
}

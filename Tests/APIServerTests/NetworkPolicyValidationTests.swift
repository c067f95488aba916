import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

/// NetworkPolicies are validated as kube-apiserver does (pkg/apis/networking/validation): bad selectors, ipBlocks,
/// ports and protocols are 422 Invalid with a cause per field, on create, update and patch.
@Suite struct NetworkPolicyValidationTests {
    let policies = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"

    static func policy(_ name: String, spec: String) -> String {
        #"{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "\#(name)"}, "spec": \#(spec)}"#
    }

    /// The causes of a 422 as `field: message`.
    static func causes(_ response: TestClient.Response) -> [String] {
        (response.json.at("details.causes")?.arrayValue ?? []).map {
            "\($0.string("field") ?? ""): \($0.string("message") ?? "")"
        }
    }

    @Test func acceptsAValidPolicy() async throws {
        try await withServer { _, client in
            let spec = """
                {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]},
                  {"key": "tier", "operator": "Exists"}]},
                 "policyTypes": ["Ingress", "Egress"],
                 "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.3.0/24"]}},
                   {"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "client"}}}],
                   "ports": [{"port": 8000, "endPort": 8080}, {"protocol": "UDP", "port": "dns"},
                     {"protocol": "SCTP"}]}],
                 "egress": [{"to": [{"ipBlock": {"cidr": "fd00::/64", "except": ["fd00::/96"]}}]}]}
                """
            let created = try await client.request(.POST, policies, json: Self.policy("good", spec: spec))
            #expect(created.status == 201, "\(created.json)")
        }
    }

    @Test func rejectsBadSelectors() async throws {
        try await withServer { _, client in
            let spec = """
                {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Matches", "values": ["web"]},
                  {"key": "tier", "operator": "In"}]},
                 "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [
                   {"key": "team", "operator": "Exists", "values": ["a"]}]}},
                   {"podSelector": {"matchLabels": {"bad key!": "x"}}}, {}]}]}
                """
            let response = try await client.request(.POST, policies, json: Self.policy("bad-selectors", spec: spec))
            #expect(response.status == 422)
            #expect(response.json.string("reason") == "Invalid")
            #expect(response.json.string("details.kind") == "NetworkPolicy")
            #expect(response.json.string("details.group") == "networking.k8s.io")
            #expect(response.json.string("details.name") == "bad-selectors")
            let causes = Self.causes(response)
            #expect(
                causes.contains(
                    "spec.podSelector.matchExpressions[0].operator: Invalid value: \"Matches\": not a valid selector operator"
                ),
                "\(causes)")
            #expect(
                causes.contains(
                    "spec.podSelector.matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
                ), "\(causes)")
            #expect(
                causes.contains(
                    "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                ), "\(causes)")
            #expect(
                causes.contains {
                    $0.hasPrefix("spec.ingress[0].from[1].podSelector.matchLabels: Invalid value: \"bad key!\"")
                })
            #expect(causes.contains("spec.ingress[0].from[2]: Required value: must specify a peer"), "\(causes)")
            #expect(causes.count == 5, "\(causes)")
            #expect(
                response.json.string("message")?.hasPrefix(
                    "NetworkPolicy.networking.k8s.io \"bad-selectors\" is invalid: [spec.podSelector.matchExpressions[0].operator"
                )
                    == true, "\(response.json)")
            let missing = try await client.request(.GET, policies + "/bad-selectors")
            #expect(missing.status == 404)
        }
    }

    @Test func rejectsBadIPBlocks() async throws {
        try await withServer { _, client in
            let spec = """
                {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16",
                   "except": ["10.1.0.0/24", "10.0.0.0/16", "10.0.0.0/8", "fd00::/64", "10.0.5.0", "10.0.9.0/24"]}},
                  {"ipBlock": {"cidr": "10.0.0.300/8"}},
                  {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}
                """
            let response = try await client.request(.POST, policies, json: Self.policy("bad-blocks", spec: spec))
            #expect(response.status == 422)
            let strict = "must be a strict subset of `cidr`"
            let cidr = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
            #expect(
                Self.causes(response) == [
                    "spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"10.1.0.0/24\": \(strict)",
                    "spec.egress[0].to[0].ipBlock.except[1]: Invalid value: \"10.0.0.0/16\": \(strict)",
                    "spec.egress[0].to[0].ipBlock.except[2]: Invalid value: \"10.0.0.0/8\": \(strict)",
                    "spec.egress[0].to[0].ipBlock.except[3]: Invalid value: \"fd00::/64\": \(strict)",
                    "spec.egress[0].to[0].ipBlock.except[4]: Invalid value: \"10.0.5.0\": \(cidr)",
                    "spec.egress[0].to[1].ipBlock.cidr: Invalid value: \"10.0.0.300/8\": \(cidr)",
                    "spec.egress[0].to[2]: Forbidden: may not specify both ipBlock and another peer",
                ])
        }
    }

    @Test func rejectsBadPortsAndProtocols() async throws {
        try await withServer { _, client in
            let spec = """
                {"ingress": [{"ports": [{"protocol": "ICMP", "port": 80}, {"endPort": 90}, {"port": "http", "endPort": 90},
                   {"port": 90, "endPort": 80}, {"port": 0}, {"port": 80, "endPort": 70000}, {"port": "Bad--Name"},
                   {"protocol": "tcp"}]}],
                 "policyTypes": ["Ingress", "Sideways"]}
                """
            let response = try await client.request(.POST, policies, json: Self.policy("bad-ports", spec: spec))
            #expect(response.status == 422)
            let causes = Self.causes(response)
            let range = "must be between 1 and 65535, inclusive"
            let at = "spec.ingress[0].ports"
            for expected in [
                "\(at)[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "\(at)[1].endPort: Invalid value: 90: may not be specified when `port` is not specified",
                "\(at)[2].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
                "\(at)[3].endPort: Invalid value: 90: must be greater than or equal to `port`",
                "\(at)[4].port: Invalid value: 0: \(range)",
                "\(at)[5].endPort: Invalid value: 70000: \(range)",
                "\(at)[6].port: Invalid value: \"Bad--Name\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "\(at)[6].port: Invalid value: \"Bad--Name\": must not contain consecutive hyphens",
                "\(at)[7].protocol: Unsupported value: \"tcp\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ] {
                #expect(causes.contains(expected), "\(expected) not in \(causes)")
            }
            #expect(causes.count == 10, "\(causes)")
            #expect(
                (response.json.at("details.causes")?.arrayValue ?? []).compactMap { $0.string("reason") }.filter {
                    $0 == "FieldValueNotSupported"
                }.count == 3)
        }
    }

    @Test func validatesUpdatesAndPatches() async throws {
        try await withServer { _, client in
            let good = #"{"podSelector": {}, "ingress": [{"ports": [{"port": 80, "endPort": 81}]}]}"#
            let created = try await client.request(.POST, policies, json: Self.policy("p", spec: good))
            #expect(created.status == 201)
            let put = try await client.request(
                .PUT, policies + "/p",
                json: Self.policy(
                    "p", spec: #"{"podSelector": {}, "ingress": [{"ports": [{"port": 80, "endPort": 79}]}]}"#))
            #expect(put.status == 422)
            #expect(
                Self.causes(put) == [
                    "spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`"
                ])
            let patch = try await client.request(
                .PATCH, policies + "/p",
                json: #"{"spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "NotIn"}]}}}"#,
                contentType: "application/merge-patch+json")
            #expect(patch.status == 422)
            #expect(
                Self.causes(patch).first?.hasPrefix("spec.podSelector.matchExpressions[0].values: Required value")
                    == true)
            let stored = try await client.request(.GET, policies + "/p")
            #expect(stored.json.number("spec.ingress.0.ports.0.endPort") == 81)
            #expect(stored.json.at("spec.podSelector.matchExpressions") == nil)

            let fixed = try await client.request(
                .PATCH, policies + "/p", json: #"{"spec": {"ingress": [{"ports": [{"port": 80, "endPort": 90}]}]}}"#,
                contentType: "application/merge-patch+json")
            #expect(fixed.status == 200)

            let undecodable = try await client.request(
                .POST, policies, json: Self.policy("q", spec: #"{"ingress": [{"ports": [{"port": [80]}]}]}"#))
            #expect(undecodable.status == 400)
            #expect(
                undecodable.json.string("message")?.hasPrefix("NetworkPolicy in version \"v1\" cannot be handled")
                    == true)
        }
    }
}

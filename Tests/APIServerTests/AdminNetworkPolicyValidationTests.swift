import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

/// AdminNetworkPolicies and the BaselineAdminNetworkPolicy are validated as a cluster validates them against their
/// CRD's schema (network-policy-api, standard channel): 422 Invalid with a cause per field, nothing stored.
@Suite struct AdminNetworkPolicyValidationTests {
    let admin = "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies"
    let baseline = "/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies"

    static func object(_ kind: String, _ name: String, spec: String) -> String {
        #"{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "\#(kind)", "metadata": {"name": "\#(name)"}, "spec": \#(spec)}"#
    }

    @Test func acceptsValidPolicies() async throws {
        try await withServer { _, client in
            let spec = """
                {"priority": 10, "subject": {"pods": {"namespaceSelector": {"matchLabels": {"team": "a"}},
                  "podSelector": {}}},
                 "ingress": [{"name": "from-b", "action": "Pass", "from": [{"namespaces": {"matchLabels": {"team": "b"}}}],
                   "ports": [{"portNumber": {"protocol": "TCP", "port": 80}}, {"namedPort": "http"},
                     {"portRange": {"protocol": "UDP", "start": 1000, "end": 2000}}]}],
                 "egress": [{"action": "Deny", "to": [{"nodes": {"matchLabels": {"role": "control-plane"}}},
                   {"networks": ["10.0.0.0/8", "fd00::/64"]}]}]}
                """
            let created = try await client.request(
                .POST, admin, json: Self.object("AdminNetworkPolicy", "good", spec: spec))
            #expect(created.status == 201, "\(created.json)")
            let base = """
                {"subject": {"namespaces": {}}, "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}
                """
            let createdBase = try await client.request(
                .POST, baseline, json: Self.object("BaselineAdminNetworkPolicy", "default", spec: base))
            #expect(createdBase.status == 201, "\(createdBase.json)")
        }
    }

    @Test func rejectsWhatTheSchemaRejects() async throws {
        try await withServer { _, client in
            let spec = """
                {"priority": 1001, "subject": {"namespaces": {}, "pods": {"namespaceSelector": {}, "podSelector": {}}},
                 "ingress": [{"action": "Reject", "from": [{"networks": ["10.0.0.0/8"]}]},
                   {"action": "Allow", "from": [], "ports": [{"portNumber": {"port": 0}, "namedPort": "x"},
                     {"portRange": {"start": 90, "end": 80}}]}],
                 "egress": [{"action": "Deny"}, {"action": "Allow", "to": [{}, {"networks": ["nope"]}]}]}
                """
            let response = try await client.request(
                .POST, admin, json: Self.object("AdminNetworkPolicy", "bad", spec: spec))
            #expect(response.status == 422)
            #expect(response.json.string("details.kind") == "AdminNetworkPolicy")
            let causes = NetworkPolicyValidationTests.causes(response)
            let expected = [
                "spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000",
                "spec.subject: Invalid value: 2: spec.subject in body should have at most 1 properties",
                "spec.ingress[0].action: Unsupported value: \"Reject\": supported values: \"Allow\", \"Deny\", \"Pass\"",
                "spec.ingress[0].from[0].networks: Invalid value: field not declared in schema",
                "spec.ingress[1].from: Invalid value: 0: spec.ingress[1].from in body should have at least 1 items",
                "spec.ingress[1].ports[0]: Invalid value: 2: spec.ingress[1].ports[0] in body should have at most 1 properties",
                "spec.ingress[1].ports[0].portNumber.port: Invalid value: 0: spec.ingress[1].ports[0].portNumber.port in body should be greater than or equal to 1",
                "spec.ingress[1].ports[1].portRange: Invalid value: \"object\": Start port must be less than End port",
                "spec.egress[0].to: Required value",
                "spec.egress[1].to[0]: Invalid value: 0: spec.egress[1].to[0] in body should have at least 1 properties",
                "spec.egress[1].to[1].networks[0]: Invalid value: \"nope\": Invalid CIDR format provided",
            ]
            #expect(causes == expected, "\(causes)")
            let missing = try await client.request(.GET, admin + "/bad")
            #expect(missing.status == 404)
        }
    }

    @Test func baselineMustBeNamedDefaultAndHasNoPass() async throws {
        try await withServer { _, client in
            let spec = """
                {"subject": {"namespaces": {}}, "egress": [{"action": "Pass", "to": [{"namespaces": {}}]}]}
                """
            let response = try await client.request(
                .POST, baseline, json: Self.object("BaselineAdminNetworkPolicy", "other", spec: spec))
            #expect(response.status == 422)
            let causes = NetworkPolicyValidationTests.causes(response)
            #expect(
                causes == [
                    "metadata.name: Invalid value: \"other\": Only one baseline admin network policy with metadata.name=\"default\" can be created in the cluster",
                    "spec.egress[0].action: Unsupported value: \"Pass\": supported values: \"Allow\", \"Deny\"",
                ], "\(causes)")
        }
    }
}

import Foundation
import KubeModel
import WeftNet

extension Registry {
    /// The `kubernetes` Service in `default` and its EndpointSlice, as kube-apiserver keeps them: the first address
    /// of the primary service CIDR (10.96.0.1 by default), port 443 `https`, no selector, and one endpoint — this
    /// server at `host:port` — so that in-cluster clients (`KUBERNETES_SERVICE_HOST`) find it. Created once; the
    /// slice follows the address the server runs at. A data directory where that IP already belongs to another
    /// Service keeps it (the Service is then not created).
    func ensureKubernetesService(host: String, port: Int) async throws {
        guard let cidr = admission.services.cidrs.first, let advertised = IPAddress(host) else { return }
        let clusterIP = cidr.network.address.advanced(by: 1)
        if try await store.get(Resources.service, namespace: "default", name: "kubernetes") == nil {
            let service: JSONValue = .object([
                "apiVersion": .string("v1"), "kind": .string("Service"),
                "metadata": .object([
                    "name": .string("kubernetes"), "namespace": .string("default"),
                    "labels": .object(["component": .string("apiserver"), "provider": .string("kubernetes")]),
                ]),
                "spec": .object([
                    "type": .string("ClusterIP"), "clusterIP": .string(clusterIP.description),
                    "ipFamilyPolicy": .string("SingleStack"),
                    "ports": .array([
                        .object([
                            "name": .string("https"), "port": .number(443), "protocol": .string("TCP"),
                            "targetPort": .number(Double(port)),
                        ])
                    ]),
                    "sessionAffinity": .string("None"),
                ]),
            ])
            do {
                _ = try await create(Resources.service, namespace: "default", body: service)
            } catch let status as Status where status.code == 422 || status.code == 409 {
                return
            }
        }
        let slice: JSONValue = .object([
            "apiVersion": .string("discovery.k8s.io/v1"), "kind": .string("EndpointSlice"),
            "metadata": .object([
                "name": .string("kubernetes"), "namespace": .string("default"),
                "labels": .object([
                    EndpointSlice.serviceNameLabel: .string("kubernetes"),
                    "endpointslice.kubernetes.io/managed-by": .string("endpointslice-controller.k8s.io"),
                ]),
            ]),
            "addressType": .string(advertised.family == .v4 ? "IPv4" : "IPv6"),
            "endpoints": .array([
                .object([
                    "addresses": .array([.string(advertised.description)]),
                    "conditions": .object(["ready": .bool(true), "serving": .bool(true), "terminating": .bool(false)]),
                ])
            ]),
            "ports": .array([
                .object(["name": .string("https"), "port": .number(Double(port)), "protocol": .string("TCP")])
            ]),
        ])
        if let current = try await store.get(Resources.endpointSlice, namespace: "default", name: "kubernetes") {
            guard current["endpoints"] != slice["endpoints"] || current["ports"] != slice["ports"] else { return }
            var updated = current
            updated["endpoints"] = slice["endpoints"]
            updated["ports"] = slice["ports"]
            updated["addressType"] = slice["addressType"]
            _ = try await update(
                Resources.endpointSlice, namespace: "default", name: "kubernetes", body: updated, status: false)
        } else {
            _ = try await create(Resources.endpointSlice, namespace: "default", body: slice)
        }
    }
}

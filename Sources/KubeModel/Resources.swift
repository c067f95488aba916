/// Every kind Weft reads or writes, where it lives in the API. The API server serves exactly these; discovery,
/// routing and storage are driven by this list.
public enum Resources {
    public static let namespace = ResourceInfo(
        group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, shortNames: ["ns"])
    public static let node = ResourceInfo(
        group: "", version: "v1", kind: "Node", plural: "nodes", namespaced: false, shortNames: ["no"])
    public static let pod = ResourceInfo(
        group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true, shortNames: ["po"])
    public static let service = ResourceInfo(
        group: "", version: "v1", kind: "Service", plural: "services", namespaced: true, shortNames: ["svc"])
    public static let secret = ResourceInfo(
        group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true)
    public static let configMap = ResourceInfo(
        group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, shortNames: ["cm"])
    public static let event = ResourceInfo(
        group: "", version: "v1", kind: "Event", plural: "events", namespaced: true, shortNames: ["ev"])
    public static let endpointSlice = ResourceInfo(
        group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true)
    public static let deployment = ResourceInfo(
        group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true,
        shortNames: ["deploy"])
    public static let daemonSet = ResourceInfo(
        group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true, shortNames: ["ds"])
    public static let networkPolicy = ResourceInfo(
        group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", plural: "networkpolicies",
        namespaced: true, shortNames: ["netpol"])
    public static let ingress = ResourceInfo(
        group: "networking.k8s.io", version: "v1", kind: "Ingress", plural: "ingresses", namespaced: true,
        shortNames: ["ing"])
    public static let ingressClass = ResourceInfo(
        group: "networking.k8s.io", version: "v1", kind: "IngressClass", plural: "ingressclasses", namespaced: false)
    public static let networkAttachmentDefinition = ResourceInfo(
        group: "k8s.cni.cncf.io", version: "v1", kind: "NetworkAttachmentDefinition",
        plural: "network-attachment-definitions", namespaced: true, shortNames: ["net-attach-def"])
    public static let gatewayClass = ResourceInfo(
        group: "gateway.networking.k8s.io", version: "v1", kind: "GatewayClass", plural: "gatewayclasses",
        namespaced: false, shortNames: ["gc"])
    public static let gateway = ResourceInfo(
        group: "gateway.networking.k8s.io", version: "v1", kind: "Gateway", plural: "gateways", namespaced: true,
        shortNames: ["gtw"])
    public static let httpRoute = ResourceInfo(
        group: "gateway.networking.k8s.io", version: "v1", kind: "HTTPRoute", plural: "httproutes", namespaced: true)
    public static let adminNetworkPolicy = ResourceInfo(
        group: "policy.networking.k8s.io", version: "v1alpha1", kind: "AdminNetworkPolicy",
        plural: "adminnetworkpolicies", namespaced: false, shortNames: ["anp"])
    public static let baselineAdminNetworkPolicy = ResourceInfo(
        group: "policy.networking.k8s.io", version: "v1alpha1", kind: "BaselineAdminNetworkPolicy",
        plural: "baselineadminnetworkpolicies", namespaced: false, shortNames: ["banp"])

    public static let all: [ResourceInfo] = [
        namespace, node, pod, service, secret, configMap, event, endpointSlice, deployment, daemonSet, networkPolicy,
        ingress, ingressClass, networkAttachmentDefinition, gatewayClass, gateway, httpRoute, adminNetworkPolicy,
        baselineAdminNetworkPolicy,
    ]

    /// The resource for an `apiVersion` and `kind`, as in a manifest.
    public static func find(apiVersion: String, kind: String) -> ResourceInfo? {
        all.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }

    /// The resource for a URL's group, version and plural.
    public static func find(group: String, version: String, plural: String) -> ResourceInfo? {
        all.first { $0.group == group && $0.version == version && $0.plural == plural }
    }
}

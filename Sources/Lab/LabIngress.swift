import KubeModel

/// The lab's ingress, as clusters often run ingress-nginx: `weft ingress` in a host-network DaemonSet in
/// kube-system, so every node serves the Ingress rules on its own address at ports 80 and 443 (and Gateway
/// listeners on theirs), with the IngressClass `weft` marked default and the GatewayClass `weft` for Gateway API
/// routes. The proxies advertise the nodes' addresses in Ingress statuses. They read the API with the agents'
/// kubeconfig.
public enum LabIngress {
    public static let namespace = "kube-system"
    public static let daemonSetName = "weft-ingress"
    public static let className = "weft"
    /// The IngressClass's `spec.controller` (informational: the proxy serves the class by name).
    public static let ingressController = "weft.dev/ingress-controller"
    /// The GatewayClass's `spec.controllerName`, which the proxy serves.
    public static let gatewayController = "weft.dev/gateway-controller"
    /// /metrics and /healthz of each proxy, on its node's address.
    public static let metricsPort = 10254

    /// The IngressClass, GatewayClass and DaemonSet, ready to apply.
    public static func manifests(spec: LabSpec) throws -> LabManifests {
        let paths = LabPaths(spec.topology)
        // Every proxy advertises every node's address, so the proxies write the same Ingress status instead of
        // each overwriting it with its own (nodes added later are not in it).
        let addresses = spec.nodes.flatMap { number in
            let host = spec.topology.node(number).addresses
            return ["--address", (spec.ipFamily == .ipv6 ? host.v6 : host.v4).description]
        }
        // `::` takes IPv4 too (a dual-stack socket): the proxy and its health endpoint answer in every lab family.
        let command =
            [
                "weft", "ingress", "--kubeconfig", paths.agentKubeconfig, "--listen-address", "::", "--metrics-port",
                "\(metricsPort)",
            ] + addresses
        let text = """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata:
              name: \(className)
              annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
            spec: {controller: \(ingressController)}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata: {name: \(className)}
            spec: {controllerName: \(gatewayController)}
            ---
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: \(daemonSetName), namespace: \(namespace), labels: {app: weft-ingress}}
            spec:
              selector: {matchLabels: {app: weft-ingress}}
              template:
                metadata: {labels: {app: weft-ingress}}
                spec:
                  hostNetwork: true
                  containers:
                  - name: ingress
                    image: weft
                    command: [\(command.map { "\"\($0)\"" }.joined(separator: ", "))]
                    readinessProbe: {httpGet: {path: /healthz, port: \(metricsPort)}, periodSeconds: 1}
            """
        return try LabManifests.parse(text, source: "the lab's ingress")
    }
}

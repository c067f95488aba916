import KubeModel
import WeftNet

/// The lab's cluster DNS, as a cluster runs CoreDNS: `weft dns` in a Deployment in kube-system behind the
/// `kube-dns` Service on the addresses every pod's resolv.conf names (`LabSpec.clusterDNS`: the tenth address of
/// each service range). It reads the API with the agents' kubeconfig. Names outside the zone are forwarded only
/// to the upstreams given (`weft lab up --dns-upstream`); without any they are refused, so nothing a lab does
/// sends DNS traffic off the machine unless asked to.
public enum LabDNS {
    public static let namespace = "kube-system"
    public static let serviceName = "kube-dns"
    public static let deploymentName = "weft-dns"
    /// /health, /ready and /metrics of `weft dns` in its pod, on `[::]` (IPv4 too): the readiness probe comes to
    /// the pod's first address, an IPv6 one in an IPv6 lab.
    public static let httpPort = 8080

    /// The Service and Deployment, ready to apply.
    public static func manifests(spec: LabSpec, upstreams: [String]) throws -> LabManifests {
        let paths = LabPaths(spec.topology)
        let clusterIPs = spec.clusterDNS
        let families = clusterIPs.map { IPAddress($0)?.isIPv4 == true ? "IPv4" : "IPv6" }
        let forwarding =
            upstreams.isEmpty ? ["--no-forward"] : upstreams.flatMap { ["--upstream", $0] }
        let command =
            ["weft", "dns", "--kubeconfig", paths.agentKubeconfig, "--http-address", "[::]:\(httpPort)"]
            + forwarding
        let text = """
            apiVersion: v1
            kind: Service
            metadata: {name: \(serviceName), namespace: \(namespace), labels: {k8s-app: kube-dns}}
            spec:
              selector: {k8s-app: kube-dns}
              clusterIP: \(clusterIPs[0])
              clusterIPs: [\(clusterIPs.joined(separator: ", "))]
              ipFamilies: [\(families.joined(separator: ", "))]
              ipFamilyPolicy: \(clusterIPs.count > 1 ? "RequireDualStack" : "SingleStack")
              ports:
              - {name: dns, port: 53, targetPort: 53, protocol: UDP}
              - {name: dns-tcp, port: 53, targetPort: 53, protocol: TCP}
              - {name: metrics, port: 9153, targetPort: \(httpPort), protocol: TCP}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: \(deploymentName), namespace: \(namespace), labels: {k8s-app: kube-dns}}
            spec:
              replicas: 1
              selector: {matchLabels: {k8s-app: kube-dns}}
              template:
                metadata: {labels: {k8s-app: kube-dns}}
                spec:
                  dnsPolicy: Default
                  containers:
                  - name: dns
                    image: weft
                    command: [\(command.map { "\"\($0)\"" }.joined(separator: ", "))]
                    readinessProbe: {httpGet: {path: /ready, port: \(httpPort)}, periodSeconds: 1}
            """
        return try LabManifests.parse(text, source: "the lab's cluster DNS")
    }
}

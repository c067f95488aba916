import KubeModel
import WeftNet

/// How a container of a lab pod is started: its argv and environment, from the pod spec, as the kubelet and the
/// container runtime would compute them. Pure, for tests.
public struct ContainerLaunch: Sendable, Equatable {
    /// The program (a path, or a name looked up in `PATH`) and its arguments after argv[0].
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]

    /// The lab's own `weft` binary: `weft` as a container's program means this one, wherever it is installed.
    public static let weftCommand = "weft"
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// What the pod's environment variables can refer to (`valueFrom.fieldRef`).
    public struct PodFacts: Sendable {
        public var podIPs: [String]
        public var hostIPs: [String]
        /// The `kubernetes` Service's address and port (`KUBERNETES_SERVICE_HOST`/`_PORT`), when known.
        public var apiServer: (host: String, port: Int)?

        public init(podIPs: [String], hostIPs: [String], apiServer: (host: String, port: Int)? = nil) {
            self.podIPs = podIPs
            self.hostIPs = hostIPs
            self.apiServer = apiServer
        }
    }

    /// The launch of `container` in `pod`, or an error message (kubelet's `CreateContainerConfigError`).
    public static func make(
        pod: Pod, container: Container, facts: PodFacts, weftBinary: String
    ) -> Result<ContainerLaunch, LaunchError> {
        // A hostNetwork pod sees its node's name (the lab's nodes are named by their Node objects).
        let hostname =
            pod.spec?.hostNetwork == true
            ? pod.spec?.nodeName ?? "" : pod.spec?.hostname ?? pod.metadata.name ?? ""
        var environment: [String: String] = ["PATH": defaultPath, "HOSTNAME": hostname]
        if let apiServer = facts.apiServer {
            environment["KUBERNETES_SERVICE_HOST"] = apiServer.host
            environment["KUBERNETES_SERVICE_PORT"] = String(apiServer.port)
            environment["KUBERNETES_SERVICE_PORT_HTTPS"] = String(apiServer.port)
        }
        for variable in container.env ?? [] {
            if let value = variable.value {
                environment[variable.name] = expand(value, environment)
            } else if let from = variable.valueFrom {
                guard let path = from["fieldRef"]?["fieldPath"]?.stringValue else {
                    return .failure(
                        LaunchError(
                            "env \(variable.name): only value and valueFrom.fieldRef are supported in the lab"))
                }
                guard let value = fieldValue(path, pod: pod, facts: facts) else {
                    return .failure(LaunchError("env \(variable.name): unsupported fieldPath \"\(path)\""))
                }
                environment[variable.name] = value
            } else {
                environment[variable.name] = ""
            }
        }
        let argv = ((container.command ?? []) + (container.args ?? [])).map { expand($0, environment) }
        guard let program = argv.first, !program.isEmpty else {
            return .failure(
                LaunchError(
                    "container \(container.name) has no command: the lab runs host programs (the image "
                        + "\"\(container.image ?? "")\" is informational), e.g. command: [weft, serve]"))
        }
        return .success(
            ContainerLaunch(
                executable: program == weftCommand ? weftBinary : program, arguments: Array(argv.dropFirst()),
                environment: environment))
    }

    /// A container's configuration the lab cannot run.
    public struct LaunchError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// `valueFrom.fieldRef.fieldPath` values (core/v1 ObjectFieldSelector, the downward API).
    static func fieldValue(_ path: String, pod: Pod, facts: PodFacts) -> String? {
        switch path {
        case "metadata.name": return pod.metadata.name ?? ""
        case "metadata.namespace": return pod.metadata.namespace ?? "default"
        case "metadata.uid": return pod.metadata.uid ?? ""
        case "spec.nodeName": return pod.spec?.nodeName ?? ""
        case "spec.serviceAccountName": return pod.spec?.serviceAccountName ?? "default"
        case "status.podIP": return facts.podIPs.first ?? ""
        case "status.podIPs": return facts.podIPs.joined(separator: ",")
        case "status.hostIP": return facts.hostIPs.first ?? ""
        case "status.hostIPs": return facts.hostIPs.joined(separator: ",")
        default:
            if path.hasPrefix("metadata.labels['"), path.hasSuffix("']") {
                return pod.metadata.labels?[String(path.dropFirst(17).dropLast(2))] ?? ""
            }
            if path.hasPrefix("metadata.annotations['"), path.hasSuffix("']") {
                return pod.metadata.annotations?[String(path.dropFirst(22).dropLast(2))] ?? ""
            }
            return nil
        }
    }

    /// Kubernetes' `$(VAR)` expansion in env values, command and args: a defined variable is replaced, an undefined
    /// reference is kept as written, `$$` is a literal `$` (k8s.io/kubernetes third_party/forked/golang/expansion).
    public static func expand(_ text: String, _ environment: [String: String]) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest.index(after: dollar)
            guard after < rest.endIndex else {
                out += "$"
                rest = rest[after...]
                break
            }
            if rest[after] == "$" {
                out += "$"
                rest = rest[rest.index(after: after)...]
            } else if rest[after] == "(", let close = rest[after...].firstIndex(of: ")") {
                let name = String(rest[rest.index(after: after)..<close])
                out += environment[name] ?? "$(\(name))"
                rest = rest[rest.index(after: close)...]
            } else {
                out += "$"
                rest = rest[after...]
            }
        }
        return out + rest
    }

    /// A pod's resolv.conf for its `dnsPolicy` (kubelet's `pkg/kubelet/network/dns`): ClusterFirst (the default;
    /// for hostNetwork pods only with ClusterFirstWithHostNet) names the cluster DNS and the search path
    /// `NS.svc.cluster.local svc.cluster.local cluster.local` with `ndots:5`; otherwise (`Default`) the node's.
    public static func resolvConf(
        pod: Pod, clusterDNS: [String], clusterDomain: String = "cluster.local", nodeResolvConf: String
    ) -> String {
        let policy = pod.spec?.dnsPolicy ?? "ClusterFirst"
        let hostNetwork = pod.spec?.hostNetwork == true
        let clusterFirst =
            policy == "ClusterFirstWithHostNet" || (policy == "ClusterFirst" && !hostNetwork)
        guard clusterFirst, !clusterDNS.isEmpty else { return nodeResolvConf }
        let namespace = pod.metadata.namespace ?? "default"
        return clusterDNS.prefix(3).map { "nameserver \($0)\n" }.joined()
            + "search \(namespace).svc.\(clusterDomain) svc.\(clusterDomain) \(clusterDomain)\n"
            + "options ndots:5\n"
    }

    /// A pod's /etc/hosts, as the kubelet writes it: localhost entries and the pod's own name on its addresses.
    public static func hostsFile(pod: Pod, podIPs: [String]) -> String {
        let hostname = pod.spec?.hostname ?? pod.metadata.name ?? ""
        var names = hostname
        if let subdomain = pod.spec?.subdomain, !subdomain.isEmpty {
            names = "\(hostname).\(subdomain).\(pod.metadata.namespace ?? "default").svc.cluster.local \(hostname)"
        }
        var text = """
            # Kubernetes-managed hosts file.
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            fe00::0\tip6-mcastprefix
            fe00::1\tip6-allnodes
            fe00::2\tip6-allrouters

            """
        for ip in podIPs { text += "\(ip)\t\(names)\n" }
        return text
    }
}

/// A hostPort a pod asks for on its node: kubelet refuses a second pod asking for the same one.
public struct HostPortClaim: Sendable, Hashable, CustomStringConvertible {
    public var port: Int
    public var `protocol`: String
    /// Empty: every address.
    public var hostIP: String

    public static func claims(of pod: Pod) -> [HostPortClaim] {
        (pod.spec?.containers ?? []).flatMap { container in
            (container.ports ?? []).compactMap { port -> HostPortClaim? in
                // hostNetwork pods use their container ports on the node (the API defaults hostPort to them).
                let hostPort = port.hostPort ?? (pod.spec?.hostNetwork == true ? port.containerPort : nil)
                guard let hostPort, hostPort > 0 else { return nil }
                return HostPortClaim(
                    port: hostPort, protocol: port.protocol?.rawValue ?? "TCP", hostIP: port.hostIP ?? "")
            }
        }
    }

    /// Whether two claims collide: same port and protocol, and the same address or either on every address.
    public func conflicts(with other: HostPortClaim) -> Bool {
        port == other.port && `protocol` == other.protocol
            && (hostIP == other.hostIP || hostIP.isEmpty || other.hostIP.isEmpty || hostIP == "0.0.0.0"
                || other.hostIP == "0.0.0.0")
    }

    public var description: String { (hostIP.isEmpty ? "" : hostIP + ":") + "\(port)/\(`protocol`)" }
}

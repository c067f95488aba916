import Agent
import ArgumentParser
import Glibc
import KubeClient
import KubeModel
import Logging
import MultiNetwork
import NFTables
import Netlink
import Policy
import ServiceLifecycle
import ServiceProxy
import WeftNet

/// `weft agent`: this node's inter-node pod routing from Node objects, with `/healthz` and `/metrics`.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Route pod traffic to other nodes (vxlan or host-gw) from Node objects, until SIGTERM.",
        discussion: """
            Runs in the node's network namespace. Programs a route per peer node's pod CIDR (host-gw: via the \
            peer's InternalIP; vxlan: over weft.vxlan4/weft.vxlan6 with FDB and neighbour entries), for IPv4 and \
            IPv6, and serves GET /healthz and GET /metrics (Prometheus) on --metrics-address. Unless \
            --no-service-proxy, it also runs the service proxy (table inet weft-proxy, stale UDP conntrack entries \
            deleted with the conntrack tool) and answers each externalTrafficPolicy: Local service's \
            healthCheckNodePort. Unless --no-network-policy, it enforces NetworkPolicies, AdminNetworkPolicies and \
            the BaselineAdminNetworkPolicy for this node's pods (table inet weft-policy; denials counted and \
            logged to nflog group --policy-log-group). Unless --multi-network-socket is empty, it answers \
            weft-cni on that unix socket with the secondary networks of a pod's k8s.v1.cni.cncf.io/networks \
            annotation (NetworkAttachmentDefinitions) and writes the pod's k8s.v1.cni.cncf.io/network-status.
            """
    )

    @Option(help: "kubeconfig file (default: in a pod, its service account; else $KUBECONFIG or ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "This node's name (default: the hostname).") var nodeName: String?
    @Option(help: "How to reach other nodes' pods: vxlan or host-gw.") var overlay: OverlayMode = .vxlan
    @Option(name: .customLong("vxlan-vni"), help: "VXLAN network identifier.")
    var vxlanVNI: UInt32 = OverlayConfiguration.defaultVNI
    @Option(help: "VXLAN UDP port.") var vxlanPort: UInt16 = OverlayConfiguration.defaultPort
    @Option(help: "host:port for /healthz and /metrics (port 0: any).") var metricsAddress = "0.0.0.0:9478"
    @Flag(inversion: .prefixedNo, help: "Run the service proxy (table inet weft-proxy), replacing kube-proxy.")
    var serviceProxy = true
    @Flag(inversion: .prefixedNo, help: "Enforce network policies for this node's pods (table inet weft-policy).")
    var networkPolicy = true
    @Option(help: "The nflog group network-policy denials are logged to.") var policyLogGroup = 1
    @Option(help: "The pod network (repeatable, one per family): cluster-IP traffic from elsewhere is masqueraded.")
    var clusterCIDR: [String] = []
    @Option(help: "Addresses NodePorts answer on (repeatable; default: the node's InternalIPs).")
    var nodeportAddresses: [String] = []
    @Option(help: "The unix socket weft-cni asks for pods' secondary networks (empty: multi-network off).")
    var multiNetworkSocket = "/run/weft/multinet.sock"
    @Flag(help: "Let pods use NetworkAttachmentDefinitions only of their own namespace and of 'default'.")
    var multiNetworkNamespaceIsolation = false

    func validate() throws {
        _ = try Self.hostPort(metricsAddress)
        for cidr in clusterCIDR where IPPrefix(cidr) == nil {
            throw ValidationError("--cluster-cidr must be a CIDR, got '\(cidr)'")
        }
        for address in nodeportAddresses where IPAddress(address) == nil {
            throw ValidationError("--nodeport-addresses must be addresses, got '\(address)'")
        }
        guard (0...65535).contains(policyLogGroup) else {
            throw ValidationError("--policy-log-group must be 0...65535, got \(policyLogGroup)")
        }
        guard vxlanVNI < 1 << 24 else { throw ValidationError("--vxlan-vni must be below 2^24, got \(vxlanVNI)") }
        if let nodeName, nodeName.isEmpty { throw ValidationError("--node-name must not be empty") }
    }

    func run() async throws {
        let (host, port) = try Self.hostPort(metricsAddress)
        let name = try nodeName ?? Self.hostname()
        let socket = try RouteSocket()
        let client = try KubeClient(configuration: try ClientConfiguration.forCommand(kubeconfig: kubeconfig))
        let logger = Logger(label: "weft.agent")
        let reconciler = OverlayReconciler(
            nodeName: name, configuration: OverlayConfiguration(mode: overlay, vni: vxlanVNI, port: vxlanPort),
            kernel: NetlinkOverlayKernel(socket: socket))
        let proxyMetrics = serviceProxy ? ProxyMetrics() : nil
        let policyMetrics = networkPolicy ? PolicyMetrics() : nil
        let metrics = AgentMetrics(proxy: proxyMetrics, policy: policyMetrics)
        let agent = NodeAgent(
            informer: Informer<Node>(client: client), reconciler: reconciler, metrics: metrics, logger: logger)
        let server = AgentHTTPServer(
            host: host, port: port, metrics: metrics, logger: logger,
            onListening: { bound in
                logger.notice(
                    "weft agent running",
                    metadata: ["node": "\(name)", "overlay": "\(overlay)", "metrics": "\(host):\(bound)"])
            })
        var services: [any ServiceLifecycle.Service] = [agent, server]
        if let proxyMetrics {
            // The Node gives the default NodePort addresses and the zone (for topology-aware routing).
            let node = try? await client.get(Node.self, name: name)
            var addresses = nodeportAddresses.compactMap(IPAddress.init)
            if addresses.isEmpty {
                addresses = (node?.status?.addresses ?? []).filter { $0.type == "InternalIP" }
                    .compactMap { IPAddress($0.address) }
            }
            let zone = node?.metadata.labels?["topology.kubernetes.io/zone"]
            let syncer = ProxySyncer(
                node: ProxyNode(name: name, zone: zone, nodePortAddresses: addresses),
                clusterCIDRs: clusterCIDR.compactMap(IPPrefix.init), backend: defaultNFTablesBackend(),
                conntrack: ConntrackTool())
            let healthServer = ServiceHealthServer(
                proxyHealthy: { proxyMetrics.isHealthy }, logger: logger)
            services.append(
                ServiceProxyAgent(
                    client: client, syncer: syncer, metrics: proxyMetrics, healthServer: healthServer, logger: logger))
        }
        if let policyMetrics {
            let syncer = PolicySyncer(
                node: PolicyNode(name: name), backend: defaultNFTablesBackend(),
                ruleset: PolicyRuleset(logGroup: policyLogGroup))
            // The node's own addresses, the pod bridge's included, read again before each sync.
            let addresses: @Sendable () throws -> [IPAddress] = { try socket.addresses().map(\.prefix.address) }
            services.append(
                PolicyAgent(
                    client: client, nodeName: name, syncer: syncer, metrics: policyMetrics,
                    localAddresses: addresses, logger: logger))
        }
        if !multiNetworkSocket.isEmpty {
            let informer = Informer<NetworkAttachmentDefinition>(client: client)
            let resolver = MultiNetworkResolver(
                client: client, definitions: informer.store,
                policy: multiNetworkNamespaceIsolation ? .isolated : .allowAll, nodeName: name, logger: logger)
            services.append(
                MultiNetworkServer(
                    socketPath: multiNetworkSocket, resolver: resolver, informer: informer, logger: logger))
        }
        try await ServiceGroup.run(services, closing: client, logger: logger)
    }

    /// Splits `host:port` (IPv6 hosts in brackets; an empty host means all addresses).
    static func hostPort(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw ValidationError("--metrics-address must be host:port, got '\(text)'") }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    private static func hostname() throws -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { throw ValidationError("cannot read the hostname") }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension OverlayMode: ExpressibleByArgument {}

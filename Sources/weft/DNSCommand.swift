import ArgumentParser
import ClusterDNS
import DNS
import DNSServer
import Foundation
import KubeClient
import Logging
import ServiceLifecycle

/// `weft dns`: the cluster DNS server.
struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Serve cluster DNS (Kubernetes DNS specification 1.1.0) and forward other names, until SIGTERM.",
        discussion: """
            Answers the cluster zone from Service, EndpointSlice, Pod and Namespace informers over UDP and TCP on \
            each --listen address, forwards other names to the upstreams (--upstream, else the nameservers of \
            --resolv-conf) with a cache, and serves GET /health, /ready and /metrics on --http-address.
            """
    )

    @Option(help: "kubeconfig file (default: in a pod, its service account; else $KUBECONFIG or ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "The cluster domain.") var zone = "cluster.local"
    @Option(help: "TTL of the zone's records, in seconds.") var ttl: UInt32 = 30
    @Option(help: "host:port to answer on (repeatable; default [::]:53, or 0.0.0.0:53 without IPv6).")
    var listen: [String] = []
    @Option(help: "An upstream resolver, host or host:port (repeatable; default: the nameservers of --resolv-conf).")
    var upstream: [String] = []
    @Option(help: "Where the default upstreams come from.") var resolvConf = "/etc/resolv.conf"
    @Flag(help: "Answer only the cluster zone; other names are REFUSED.") var noForward = false
    @Option(help: "host:port for /health, /ready and /metrics.") var httpAddress = "0.0.0.0:8080"
    @Flag(inversion: .prefixedNo, help: "Answer a-b-c-d.NAMESPACE.pod.ZONE names of existing pods.")
    var podRecords = true

    func validate() throws {
        guard DNSName(zone) != nil else { throw ValidationError("--zone must be a domain name, got '\(zone)'") }
        for address in listen + [httpAddress] { _ = try AgentCommand.hostPort(address) }
    }

    func run() async throws {
        let logger = Logger(label: "weft.dns")
        let client = try KubeClient(configuration: try ClientConfiguration.forCommand(kubeconfig: kubeconfig))
        let metrics = DNSMetrics()
        let zones = ZoneStore(
            configuration: ClusterZoneConfiguration(zone: DNSName(zone)!, ttl: ttl, podRecords: podRecords))
        var forwarder: Forwarder?
        if !noForward {
            let upstreams = try self.upstreams()
            if upstreams.isEmpty {
                logger.warning("no upstreams: names outside the cluster zone will be refused")
            } else {
                forwarder = Forwarder(upstreams: upstreams, transport: NIOUpstreamTransport(), logger: logger)
            }
        }
        let responder = DNSResponder(zones: zones, forwarder: forwarder, metrics: metrics, logger: logger)
        let server = try await bind(responder, logger: logger)
        let (httpHost, httpPort) = try AgentCommand.hostPort(httpAddress)
        var services: [any ServiceLifecycle.Service] = [
            server, ZoneWatcher(client: client, zones: zones, metrics: metrics, logger: logger),
            DNSHTTPServer(host: httpHost, port: httpPort, zones: zones, metrics: metrics, logger: logger),
        ]
        if let forwarder { services.append(UpstreamHealthChecker(forwarder: forwarder)) }
        logger.notice(
            "weft dns running",
            metadata: [
                "zone": "\(zone)", "ports": "\(server.boundPorts)",
                "upstreams": "\(forwarder?.upstreams.map(\.description) ?? [])",
            ])
        try await ServiceGroup.run(services, closing: client, logger: logger)
    }

    private func bind(_ responder: DNSResponder, logger: Logger) async throws -> DNSServer {
        if listen.isEmpty {
            do {
                return try await DNSServer.start(responder: responder, addresses: [("::", 53)], logger: logger)
            } catch {
                return try await DNSServer.start(responder: responder, addresses: [("0.0.0.0", 53)], logger: logger)
            }
        }
        let addresses = try listen.map { try AgentCommand.hostPort($0) }
        return try await DNSServer.start(responder: responder, addresses: addresses, logger: logger)
    }

    private func upstreams() throws -> [Upstream] {
        if upstream.isEmpty {
            let text = (try? String(contentsOfFile: resolvConf, encoding: .utf8)) ?? ""
            return ResolvConf.nameservers(text)
        }
        return try upstream.map { text in
            if text.hasPrefix("[") || text.filter({ $0 == ":" }).count == 1 {
                let (host, port) = try AgentCommand.hostPort(text)
                return Upstream(host: host, port: port)
            }
            return Upstream(host: text, port: 53)
        }
    }

}

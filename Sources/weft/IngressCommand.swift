import ArgumentParser
import IngressProxy
import KubeClient
import Logging
import ServiceLifecycle

/// `weft ingress`: the ingress and Gateway API proxy.
struct IngressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress",
        abstract: "Proxy HTTP and HTTPS to pods from Ingress and Gateway API objects, until SIGTERM.",
        discussion: """
            Watches Ingresses (class weft, or class-less ones when weft is the default IngressClass), Gateways of \
            GatewayClasses with controller weft.dev/gateway-controller and their HTTPRoutes, with the Services, \
            EndpointSlices, Secrets and Namespaces behind them; serves Ingress rules on --http-port and \
            --https-port and each Gateway listener on its own port, with TLS certificates from kubernetes.io/tls \
            Secrets chosen by SNI (HTTP/2 over ALPN). Changes are swapped in without dropping requests in flight \
            or open WebSockets. Writes Ingress status.loadBalancer (the --address values) and Gateway API \
            conditions back when they change. GET /metrics and /healthz on --metrics-port.
            """
    )

    @Option(help: "kubeconfig file (default: in a pod, its service account; else $KUBECONFIG or ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "The address to listen on.") var listenAddress = "0.0.0.0"
    @Option(help: "Port of the Ingress rules over HTTP.") var httpPort = 80
    @Option(help: "Port of the Ingress rules over HTTPS.") var httpsPort = 443
    @Option(
        name: .customLong("address"),
        help: "An address (IP or host name) clients reach the proxy at, written to statuses (repeatable).")
    var addresses: [String] = []
    @Option(help: "Port of /metrics and /healthz (0: none).") var metricsPort = 10254
    @Option(help: "The IngressClass served.") var ingressClass = RouteTable.ingressClassName
    @Option(help: "The GatewayClass controller name served.")
    var gatewayController = RouteTable.gatewayControllerName
    @Option(help: "round-robin or least-request.") var balancing: ProxyConfiguration.Balancing = .roundRobin
    @Option(help: "Event loop threads (default: one per core).") var threads = ProxyConfiguration().eventLoops
    @Option(help: "Seconds to connect to an endpoint.") var connectTimeout = 3.0
    @Option(help: "Seconds for an upstream to start answering.") var requestTimeout = 60.0
    @Option(help: "Seconds a client has to send a request head.") var headerTimeout = 10.0
    @Option(help: "Largest request head in bytes.") var maxHeaderBytes = 32 * 1024
    @Option(help: "Largest request body in bytes.") var maxBodyBytes = 64 * 1024 * 1024
    @Option(help: "Seconds open connections get to finish on SIGTERM.") var shutdownGrace = 10.0
    @Flag(inversion: .prefixedNo, help: "Log one line per request.") var accessLog = true

    func validate() throws {
        for (name, port) in [("--http-port", httpPort), ("--https-port", httpsPort), ("--metrics-port", metricsPort)]
        where !(0...65535).contains(port) {
            throw ValidationError("\(name) must be 0...65535, got \(port)")
        }
        guard httpPort != httpsPort else { throw ValidationError("--http-port and --https-port must differ") }
        for (name, value) in [
            ("--connect-timeout", connectTimeout), ("--request-timeout", requestTimeout),
            ("--header-timeout", headerTimeout),
        ] where !(value > 0) {
            throw ValidationError("\(name) must be positive, got \(value)")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard maxHeaderBytes >= 1024 else { throw ValidationError("--max-header-bytes must be at least 1024") }
        guard maxBodyBytes >= 0 else { throw ValidationError("--max-body-bytes must not be negative") }
    }

    func run() async throws {
        var logger = Logger(label: "weft.ingress")
        if !accessLog { logger.logLevel = .notice }
        let client = try KubeClient(configuration: try ClientConfiguration.forCommand(kubeconfig: kubeconfig))
        let configuration = ProxyConfiguration(
            connectTimeout: .seconds(connectTimeout), requestTimeout: .seconds(requestTimeout),
            headerReadTimeout: .seconds(headerTimeout), maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes,
            balancing: balancing, eventLoops: threads)
        let server = try IngressProxyServer(configuration: configuration, logger: logger)
        let tableConfiguration = RouteTable.Configuration(
            ingressClassName: ingressClass, gatewayControllerName: gatewayController, ingressHTTPPort: httpPort,
            ingressHTTPSPort: httpsPort)
        let controller = IngressController(
            client: client, server: server, configuration: tableConfiguration, listenAddress: listenAddress,
            addresses: addresses, logger: logger)
        let proxy = IngressProxyService(
            server: server, listenAddress: listenAddress, httpPort: httpPort, httpsPort: httpsPort,
            metricsPort: metricsPort, grace: .seconds(shutdownGrace), logger: logger)
        try await ServiceGroup.run([proxy, controller], closing: client, logger: logger)
    }
}

extension ProxyConfiguration.Balancing: ExpressibleByArgument {}

/// The proxy's listeners as a service: bound at start, closed on graceful shutdown after open connections had
/// `grace` to finish.
struct IngressProxyService: ServiceLifecycle.Service {
    let server: IngressProxyServer
    let listenAddress: String
    let httpPort: Int
    let httpsPort: Int
    let metricsPort: Int
    let grace: Duration
    let logger: Logger

    func run() async throws {
        let http = try await server.listen(ProxyListener(host: listenAddress, port: httpPort, scheme: .http))
        let https = try await server.listen(ProxyListener(host: listenAddress, port: httpsPort, scheme: .https))
        var metadata: Logger.Metadata = ["http": "\(listenAddress):\(http)", "https": "\(listenAddress):\(https)"]
        if metricsPort > 0 {
            let port = try await server.listenMetrics(host: listenAddress, port: metricsPort)
            metadata["metrics"] = "\(listenAddress):\(port)"
        }
        logger.notice("weft ingress running", metadata: metadata)
        try? await gracefulShutdown()
        try await server.shutdown(grace: grace)
    }
}

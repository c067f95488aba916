import Foundation
import IngressProxy
import KubeClient
import KubeModel
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps `weft ingress`'s proxy in step with the API: informers for every kind the route table reads; any change
/// marks the table stale, and a rebuild (changes within `coalescing` taken together) swaps the new table and
/// certificates into the proxy, opens and closes Gateway listener ports, and writes back the statuses that
/// changed.
final class IngressController: ServiceLifecycle.Service {
    private let client: KubeClient
    private let server: IngressProxyServer
    private let configuration: RouteTable.Configuration
    private let listenAddress: String
    private let addresses: [String]
    private let logger: Logger
    private let coalescing: Duration
    private let ingresses: Informer<Ingress>
    private let ingressClasses: Informer<IngressClass>
    private let gatewayClasses: Informer<GatewayClass>
    private let gateways: Informer<Gateway>
    private let httpRoutes: Informer<HTTPRoute>
    private let services: Informer<KubeModel.Service>
    private let slices: Informer<EndpointSlice>
    private let secrets: Informer<Secret>
    private let namespaces: Informer<Namespace>
    /// Parsed certificates by Secret, with the resourceVersion they were parsed at.
    private let certificateCache = Mutex<
        [ObjectKey: (version: String?, certificate: Result<TLSCertificate, any Error>)]
    >(
        [:])

    init(
        client: KubeClient, server: IngressProxyServer, configuration: RouteTable.Configuration, listenAddress: String,
        addresses: [String], logger: Logger, coalescing: Duration = .milliseconds(50)
    ) {
        self.client = client
        self.server = server
        self.configuration = configuration
        self.listenAddress = listenAddress
        self.addresses = addresses
        self.logger = logger
        self.coalescing = coalescing
        ingresses = Informer(client: client)
        ingressClasses = Informer(client: client)
        gatewayClasses = Informer(client: client)
        gateways = Informer(client: client)
        httpRoutes = Informer(client: client)
        services = Informer(client: client)
        slices = Informer(client: client)
        secrets = Informer(client: client)
        namespaces = Informer(client: client)
    }

    func run() async throws {
        let (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        watch(ingresses, changed)
        watch(ingressClasses, changed)
        watch(gatewayClasses, changed)
        watch(gateways, changed)
        watch(httpRoutes, changed)
        watch(services, changed)
        watch(slices, changed)
        watch(secrets, changed)
        watch(namespaces, changed)
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.ingresses.run() }
                group.addTask { try await self.ingressClasses.run() }
                group.addTask { try await self.gatewayClasses.run() }
                group.addTask { try await self.gateways.run() }
                group.addTask { try await self.httpRoutes.run() }
                group.addTask { try await self.services.run() }
                group.addTask { try await self.slices.run() }
                group.addTask { try await self.secrets.run() }
                group.addTask { try await self.namespaces.run() }
                try await self.ingresses.waitForSync()
                try await self.ingressClasses.waitForSync()
                try await self.gatewayClasses.waitForSync()
                try await self.gateways.waitForSync()
                try await self.httpRoutes.waitForSync()
                try await self.services.waitForSync()
                try await self.slices.waitForSync()
                try await self.secrets.waitForSync()
                try await self.namespaces.waitForSync()
                group.addTask {
                    await self.rebuild()
                    for await _ in changes {
                        try await Task.sleep(for: self.coalescing)
                        await self.rebuild()
                    }
                }
            }
        }
    }

    private func watch<T: KubeObject>(_ informer: Informer<T>, _ changed: AsyncStream<Void>.Continuation) {
        informer.addHandlers(
            Informer<T>.Handlers(
                onAdd: { _ in changed.yield() }, onUpdate: { _, _ in changed.yield() },
                onDelete: { _ in changed.yield() }))
    }

    /// Builds the table from the informers' stores, swaps it in, adjusts listeners and writes statuses.
    private func rebuild() async {
        let started = ContinuousClock.now
        let objects = RouteTable.Objects(
            ingresses: ingresses.store.list(), ingressClasses: ingressClasses.store.list(),
            gatewayClasses: gatewayClasses.store.list(), gateways: gateways.store.list(),
            httpRoutes: httpRoutes.store.list(), services: services.store.list(),
            endpointSlices: slices.store.list(), namespaces: namespaces.store.list(), secrets: secrets.store.list())
        let table = RouteTable(objects, configuration: configuration)
        server.update(table: table, certificates: certificates(objects.secrets))
        logger.debug(
            "route table swapped in",
            metadata: ["skipped": "\(table.skipped.count)", "took": "\(ContinuousClock.now - started)"])
        for skipped in table.skipped { logger.debug("left out of the route table", metadata: ["why": "\(skipped)"]) }
        await reconcileListeners(table)
        await writeStatuses(table, objects: objects)
    }

    /// Parsed `kubernetes.io/tls` Secrets; a Secret is parsed again only when its resourceVersion moves.
    private func certificates(_ secrets: [Secret]) -> [ObjectKey: TLSCertificate] {
        certificateCache.withLock { cache in
            var seen = Set<ObjectKey>()
            var result: [ObjectKey: TLSCertificate] = [:]
            for secret in secrets where secret.type == "kubernetes.io/tls" {
                let key = ObjectKey(secret.metadata)
                seen.insert(key)
                let version = secret.metadata.resourceVersion
                if cache[key]?.version != version || cache[key] == nil {
                    let parsed = Result { try TLSCertificate(secret: secret) }
                    if case .failure(let error) = parsed {
                        logger.warning("TLS secret not usable", metadata: ["secret": "\(key)", "error": "\(error)"])
                    }
                    cache[key] = (version, parsed)
                }
                if case .success(let certificate) = cache[key]?.certificate { result[key] = certificate }
            }
            cache = cache.filter { seen.contains($0.key) }
            return result
        }
    }

    /// Listens on each port the table's Gateway listeners use, and stops on ports no longer used.
    private func reconcileListeners(_ table: RouteTable) async {
        let wanted = Dictionary(table.listeners.map { ($0.port, $0.scheme) }, uniquingKeysWith: { first, _ in first })
        let bound = Dictionary(
            server.listeners.map { ($0.listener.routingPort, $0.listener.scheme) },
            uniquingKeysWith: { first, _ in first })
        for (port, scheme) in wanted.sorted(by: { $0.key < $1.key }) where bound[port] != scheme {
            if bound[port] != nil { await server.stopListening(routingPort: port) }
            do {
                try await server.listen(ProxyListener(host: listenAddress, port: port, scheme: scheme))
            } catch {
                logger.warning("cannot listen", metadata: ["port": "\(port)", "error": "\(error)"])
            }
        }
        let fixed: Set<Int> = [configuration.ingressHTTPPort, configuration.ingressHTTPSPort]
        for port in bound.keys where wanted[port] == nil && !fixed.contains(port) {
            await server.stopListening(routingPort: port)
        }
    }

    /// Writes the statuses that differ from what the objects carry; a conflict is left to the next rebuild (the
    /// newer object comes through the watch).
    private func writeStatuses(_ table: RouteTable, objects: RouteTable.Objects) async {
        let now = Date().formatted(.iso8601)
        var writes: [@Sendable () async throws -> Void] = []
        // Without --address there is nothing to say in status.loadBalancer.
        let ingressStatuses = addresses.isEmpty ? [:] : table.ingressStatuses(addresses: addresses)
        for ingress in objects.ingresses {
            if let desired = ingressStatuses[ObjectKey(ingress.metadata)],
                let updated = StatusWriteback.ingress(ingress, desired: desired)
            {
                writes.append { [client] in _ = try await client.updateStatus(updated) }
            }
        }
        let classStatuses = table.gatewayClassStatuses
        for gatewayClass in objects.gatewayClasses {
            if let desired = classStatuses[gatewayClass.metadata.name ?? ""],
                let updated = StatusWriteback.gatewayClass(gatewayClass, desired: desired, now: now)
            {
                writes.append { [client] in _ = try await client.updateStatus(updated) }
            }
        }
        let gatewayStatuses = table.gatewayStatuses(addresses: addresses)
        for gateway in objects.gateways {
            if let desired = gatewayStatuses[ObjectKey(gateway.metadata)],
                let updated = StatusWriteback.gateway(gateway, desired: desired, now: now)
            {
                writes.append { [client] in _ = try await client.updateStatus(updated) }
            }
        }
        let routeStatuses = table.httpRouteStatuses
        for route in objects.httpRoutes {
            if let desired = routeStatuses[ObjectKey(route.metadata)],
                let updated = StatusWriteback.httpRoute(
                    route, desired: desired, controllerName: configuration.gatewayControllerName, now: now)
            {
                writes.append { [client] in _ = try await client.updateStatus(updated) }
            }
        }
        for write in writes {
            do {
                try await write()
            } catch {
                logger.info("status not written; the next change retries", metadata: ["error": "\(error)"])
            }
        }
    }
}

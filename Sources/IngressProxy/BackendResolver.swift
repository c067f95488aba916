import KubeModel
import WeftNet

/// Resolves a Service port — by number or by name, as Ingress and HTTPRoute backends name it — to the ready
/// endpoints of its EndpointSlices: the Service port's name picks the slice port of the same name (`""` for an
/// unnamed port), whose number is the pod's port.
public struct BackendResolver: Sendable {
    /// How a backend names the Service port.
    public enum PortSelector: Sendable, Hashable, CustomStringConvertible {
        case number(Int)
        case name(String)

        public var description: String {
            switch self {
            case .number(let number): return String(number)
            case .name(let name): return name
            }
        }
    }

    private var services: [ObjectKey: Service] = [:]
    private var slices: [ObjectKey: [EndpointSlice]] = [:]

    public init(services: [Service], slices: [EndpointSlice]) {
        for service in services { self.services[ObjectKey(service.metadata)] = service }
        for slice in slices {
            guard let serviceName = slice.serviceName else { continue }
            self.slices[ObjectKey(namespace: slice.metadata.namespace ?? "default", name: serviceName), default: []]
                .append(slice)
        }
    }

    /// The ready endpoints of `service`'s port, sorted; a failure when the service or port is missing or unusable,
    /// or when no endpoint is ready.
    public func resolve(_ service: ObjectKey, port selector: PortSelector) -> Result<[BackendEndpoint], BackendFailure>
    {
        guard let found = services[service] else {
            return .failure(BackendFailure(.notFound, "service \(service) not found"))
        }
        if found.spec?.type == "ExternalName" {
            return .failure(BackendFailure(.unsupported, "service \(service) is ExternalName, not supported"))
        }
        let ports = found.spec?.ports ?? []
        let servicePort: ServicePort?
        switch selector {
        case .number(let number): servicePort = ports.first { $0.port == number }
        case .name(let name): servicePort = ports.first { ($0.name ?? "") == name }
        }
        guard let servicePort else {
            return .failure(BackendFailure(.notFound, "service \(service) has no port \(selector)"))
        }
        if let proto = servicePort.protocol, proto != .tcp {
            return .failure(BackendFailure(.unsupported, "port \(selector) of service \(service) is \(proto), not TCP"))
        }
        let portName = servicePort.name ?? ""
        var endpoints = Set<BackendEndpoint>()
        for slice in slices[service] ?? [] where slice.addressType != "FQDN" {
            let slicePort = (slice.ports ?? []).first {
                ($0.name ?? "") == portName && ($0.protocol ?? .tcp) == .tcp
            }
            guard let number = slicePort?.port, (1...65535).contains(number) else { continue }
            for endpoint in slice.endpoints where endpoint.conditions?.ready != false {
                for address in endpoint.addresses.compactMap(IPAddress.init) {
                    endpoints.insert(BackendEndpoint(address: address, port: number))
                }
            }
        }
        guard !endpoints.isEmpty else {
            return .failure(
                BackendFailure(.noReadyEndpoints, "service \(service) port \(selector) has no ready endpoints"))
        }
        return .success(endpoints.sorted())
    }
}

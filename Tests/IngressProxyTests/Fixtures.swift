import KubeModel
import Testing
import WeftNet

@testable import IngressProxy

/// Objects written as YAML documents, and the requests tests send.
enum Fixtures {
    static func objects(_ yaml: String) throws -> RouteTable.Objects {
        var objects = RouteTable.Objects()
        for document in try Manifest.decodeDocuments(yaml) {
            switch document["kind"]?.stringValue {
            case "Ingress": objects.ingresses.append(try Manifest.decode(document))
            case "IngressClass": objects.ingressClasses.append(try Manifest.decode(document))
            case "GatewayClass": objects.gatewayClasses.append(try Manifest.decode(document))
            case "Gateway": objects.gateways.append(try Manifest.decode(document))
            case "HTTPRoute": objects.httpRoutes.append(try Manifest.decode(document))
            case "Service": objects.services.append(try Manifest.decode(document))
            case "EndpointSlice": objects.endpointSlices.append(try Manifest.decode(document))
            case "Namespace": objects.namespaces.append(try Manifest.decode(document))
            case "Secret": objects.secrets.append(try Manifest.decode(document))
            case let kind: Issue.record("unexpected kind \(kind ?? "")")
            }
        }
        return objects
    }

    static func table(_ yaml: String) throws -> RouteTable { RouteTable(try objects(yaml)) }

    /// Snippets start on a line of their own, so they concatenate into one multi-document YAML.
    ///
    /// A Service `name` with port 80 named `http` (pods on 8080) and one ready endpoint at `address`.
    static func service(_ name: String, namespace: String = "default", address: String) -> String {
        """

        ---
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: \(namespace)}
        spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: \(name)-1, namespace: \(namespace), labels: {kubernetes.io/service-name: \(name)}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints: [{addresses: [\(address)], conditions: {ready: true}}]

        """
    }

    static func request(
        _ target: String, host: String = "example.com", port: Int = 80, scheme: RoutingRequest.Scheme = .http,
        method: String = "GET", headers: [HeaderField] = []
    ) -> RoutingRequest {
        RoutingRequest(port: port, scheme: scheme, host: host, target: target, method: method, headers: headers)
    }

    /// The `namespace/service:port` the table routes `request` to, or `404`.
    static func destination(_ table: RouteTable, _ request: RoutingRequest) -> String {
        switch table.route(request) {
        case .success(let route): return route.backends.map(\.name).joined(separator: ",")
        case .failure: return "404"
        }
    }

    /// The GatewayClass `weft` and, in namespace `infra`, Gateway `gw` with the given listeners (YAML flow list).
    static func gateway(listeners: String, name: String = "gw", namespace: String = "infra") -> String {
        """

        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: weft, generation: 1}
        spec: {controllerName: weft.dev/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: \(name), namespace: \(namespace), generation: 2}
        spec:
          gatewayClassName: weft
          listeners: \(listeners)

        """
    }
}

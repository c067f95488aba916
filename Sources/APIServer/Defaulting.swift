import KubeModel
import WeftNet

/// The few defaults kube-apiserver fills in that Weft's consumers and kubectl's output rely on: port protocols,
/// a Service's type, session affinity and target ports, a pod's restart and DNS policies. Applied on every write
/// of an object's main endpoint, as kube applies defaults on every decode.
enum Defaulting {
    static func apply(_ resource: ResourceInfo, _ object: JSONValue) -> JSONValue {
        var result = object
        switch resource.storageKey {
        case "/services":
            guard var spec = object["spec"], case .object = spec else { return object }
            if spec["type"] == nil { spec["type"] = .string("ClusterIP") }
            if spec["sessionAffinity"] == nil { spec["sessionAffinity"] = .string("None") }
            if let ports = spec["ports"]?.arrayValue {
                spec["ports"] = .array(
                    ports.map { port in
                        var port = port
                        if port["protocol"] == nil { port["protocol"] = .string("TCP") }
                        if port["targetPort"] == nil, let number = port["port"] { port["targetPort"] = number }
                        return port
                    })
            }
            result["spec"] = spec
        case "/pods":
            guard var spec = object["spec"], case .object = spec else { return object }
            if spec["restartPolicy"] == nil { spec["restartPolicy"] = .string("Always") }
            if spec["dnsPolicy"] == nil { spec["dnsPolicy"] = .string("ClusterFirst") }
            for key in ["containers", "initContainers"] {
                guard let containers = spec[key]?.arrayValue else { continue }
                spec[key] = .array(containers.map(defaultContainerPorts))
            }
            result["spec"] = spec
        case "discovery.k8s.io/endpointslices":
            if let ports = object["ports"]?.arrayValue {
                result["ports"] = .array(ports.map(defaultProtocol))
            }
        default:
            break
        }
        return result
    }

    private static func defaultContainerPorts(_ container: JSONValue) -> JSONValue {
        guard let ports = container["ports"]?.arrayValue else { return container }
        var result = container
        result["ports"] = .array(ports.map(defaultProtocol))
        return result
    }

    private static func defaultProtocol(_ port: JSONValue) -> JSONValue {
        var result = port
        if case .object = port, port["protocol"] == nil { result["protocol"] = .string("TCP") }
        return result
    }
}

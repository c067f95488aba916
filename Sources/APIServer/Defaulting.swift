import KubeModel
import WeftNet

/// The few defaults kube-apiserver fills in that Weft's consumers and kubectl's output rely on: port protocols,
/// a Service's type, session affinity and target ports, a pod's restart and DNS policies, a Deployment's replicas
/// and strategy, a DaemonSet's update strategy. Applied on every write of an object's main endpoint, as kube applies
/// defaults on every decode.
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
        case Resources.deployment.storageKey:
            guard var spec = object["spec"], case .object = spec else { return object }
            if spec["replicas"] == nil { spec["replicas"] = .number(1) }
            spec["strategy"] = defaultStrategy(
                spec["strategy"], rolling: ["maxSurge": .string("25%"), "maxUnavailable": .string("25%")])
            result["spec"] = spec
        case Resources.daemonSet.storageKey:
            guard var spec = object["spec"], case .object = spec else { return object }
            spec["updateStrategy"] = defaultStrategy(
                spec["updateStrategy"], rolling: ["maxSurge": .number(0), "maxUnavailable": .number(1)])
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

    /// A Deployment's `strategy` or a DaemonSet's `updateStrategy`: type `RollingUpdate` unless set, and then the
    /// `rollingUpdate` parameters where missing (`kubectl rollout status` of a DaemonSet needs the type).
    private static func defaultStrategy(_ strategy: JSONValue?, rolling: [String: JSONValue]) -> JSONValue? {
        var result = strategy ?? .object([:])
        guard case .object = result else { return strategy }
        if result["type"] == nil { result["type"] = .string("RollingUpdate") }
        guard result["type"] == .string("RollingUpdate") else { return result }
        var parameters = result["rollingUpdate"] ?? .object([:])
        guard case .object = parameters else { return result }
        for (name, value) in rolling where parameters[name] == nil { parameters[name] = value }
        result["rollingUpdate"] = parameters
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

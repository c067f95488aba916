import KubeModel
import WeftNet

/// A container's readiness probe (core/v1 Probe) with the API's defaults: tcpSocket, httpGet or exec.
public struct ReadinessProbe: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case tcp(port: Int)
        case http(port: Int, path: String)
        case exec(command: [String])
    }

    public var action: Action
    public var initialDelay: Duration
    public var period: Duration
    public var timeout: Duration
    public var successThreshold: Int
    public var failureThreshold: Int

    /// Parses `container.readinessProbe`; a named port is looked up in the container's ports. Nil when there is no
    /// probe; an error message when it cannot be run.
    public static func parse(_ probe: JSONValue?, container: Container) -> Result<ReadinessProbe?, ProbeError> {
        guard let probe, case .object = probe else { return .success(nil) }
        func seconds(_ key: String, _ fallback: Int) -> Duration {
            .seconds(max(Int(probe[key]?.doubleValue ?? Double(fallback)), 0))
        }
        func port(_ value: JSONValue?) -> Result<Int, ProbeError> {
            switch value {
            case .number(let number)? where (1...65535).contains(Int(number)): return .success(Int(number))
            case .string(let name)?:
                if let port = container.ports?.first(where: { $0.name == name })?.containerPort {
                    return .success(port)
                }
                if let number = Int(name), (1...65535).contains(number) { return .success(number) }
                return .failure(ProbeError(description: "probe port \"\(name)\" is not a port of the container"))
            default: return .failure(ProbeError(description: "probe has no valid port"))
            }
        }
        let action: Action
        if let tcp = probe["tcpSocket"] {
            switch port(tcp["port"]) {
            case .success(let number): action = .tcp(port: number)
            case .failure(let error): return .failure(error)
            }
        } else if let http = probe["httpGet"] {
            if let scheme = http["scheme"]?.stringValue, scheme.uppercased() != "HTTP" {
                return .failure(
                    ProbeError(description: "probe scheme \(scheme) is not supported in the lab (HTTP only)"))
            }
            switch port(http["port"]) {
            case .success(let number): action = .http(port: number, path: http["path"]?.stringValue ?? "/")
            case .failure(let error): return .failure(error)
            }
        } else if let exec = probe["exec"] {
            let command = (exec["command"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard !command.isEmpty else { return .failure(ProbeError(description: "exec probe without a command")) }
            action = .exec(command: command)
        } else {
            return .failure(ProbeError(description: "probe needs tcpSocket, httpGet or exec (grpc is not supported)"))
        }
        return .success(
            ReadinessProbe(
                action: action, initialDelay: seconds("initialDelaySeconds", 0), period: seconds("periodSeconds", 10),
                timeout: seconds("timeoutSeconds", 1),
                successThreshold: max(Int(probe["successThreshold"]?.doubleValue ?? 1), 1),
                failureThreshold: max(Int(probe["failureThreshold"]?.doubleValue ?? 3), 1)))
    }

    /// The `weft probe` arguments for a tcp or http probe of `address` (nil for exec probes).
    public func probeArguments(address: String) -> [String]? {
        let host = address.contains(":") ? "[\(address)]" : address
        let timeout = "\(max(timeout.components.seconds, 1))s"
        switch action {
        case .tcp(let port): return ["probe", "--protocol", "tcp", "--timeout", timeout, "\(host):\(port)"]
        case .http(let port, let path):
            return ["probe", "--protocol", "http", "--timeout", timeout, "--path", path, "\(host):\(port)"]
        case .exec: return nil
        }
    }
}

/// A probe the lab cannot run.
public struct ProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

/// Turns probe results into readiness with the thresholds (`successThreshold` successes in a row to become ready,
/// `failureThreshold` failures in a row to become unready; a container starts unready).
public struct ReadinessTracker: Sendable, Equatable {
    public private(set) var ready = false
    private var successes = 0
    private var failures = 0
    let successThreshold: Int
    let failureThreshold: Int

    public init(successThreshold: Int, failureThreshold: Int) {
        self.successThreshold = successThreshold
        self.failureThreshold = failureThreshold
    }

    /// Records one result; returns whether readiness changed.
    public mutating func record(success: Bool) -> Bool {
        let before = ready
        if success {
            successes += 1
            failures = 0
            if successes >= successThreshold { ready = true }
        } else {
            failures += 1
            successes = 0
            if failures >= failureThreshold { ready = false }
        }
        return ready != before
    }
}

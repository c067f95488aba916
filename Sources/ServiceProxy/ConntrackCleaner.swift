import NFTables
import WeftNet

/// A UDP flow that a sync left pointing at an endpoint that no longer gets the frontend's traffic. UDP has no
/// connection to end, so its conntrack entry keeps the old DNAT — sending a client's datagrams (DNS queries, for
/// one) to a dead pod — until the entry times out; the proxy deletes such entries right after the sync.
public struct StaleUDPFlow: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address and port the client sent to (a cluster IP, external IP, load-balancer IP or node address).
    public var frontend: IPAddress
    public var port: Int
    public var endpoint: IPAddress

    public init(frontend: IPAddress, port: Int, endpoint: IPAddress) {
        self.frontend = frontend
        self.port = port
        self.endpoint = endpoint
    }

    public var description: String { "\(frontend) port \(port) -> \(endpoint)" }

    public static func < (a: Self, b: Self) -> Bool { a.description < b.description }
}

/// Deletes conntrack entries.
public protocol ConntrackCleaner: Sendable {
    /// Deletes the entries of each flow; returns how many entries were deleted.
    func delete(_ flows: [StaleUDPFlow]) throws -> Int
}

/// `ConntrackCleaner` through the `conntrack` tool (conntrack-tools), in the caller's network namespace:
/// `conntrack -D -f FAMILY -p udp --orig-dst FRONTEND --orig-port-dst PORT --reply-src ENDPOINT`, the entries a
/// DNAT to that endpoint made (kube-proxy's `ClearEntriesForNAT`).
public struct ConntrackTool: ConntrackCleaner {
    public var path: String

    public init(path: String = "conntrack") { self.path = path }

    public struct Failure: Error, CustomStringConvertible {
        public var flow: StaleUDPFlow
        public var message: String
        public var description: String { "conntrack -D for \(flow): \(message)" }
    }

    public func delete(_ flows: [StaleUDPFlow]) throws -> Int {
        var deleted = 0
        for flow in flows {
            let result = try ProcessRunner.run(
                path,
                arguments: [
                    "-D", "-f", flow.frontend.isIPv4 ? "ipv4" : "ipv6", "-p", "udp", "--orig-dst", "\(flow.frontend)",
                    "--orig-port-dst", "\(flow.port)", "--reply-src", "\(flow.endpoint)",
                ])
            // It says how many entries it deleted, and exits 1 when that is none.
            guard let count = Self.deletedCount(result.stderrString) else {
                throw Failure(flow: flow, message: result.stderrString)
            }
            deleted += count
        }
        return deleted
    }

    /// N from "… N flow entries have been deleted."
    static func deletedCount(_ output: String) -> Int? {
        guard let range = output.range(of: " flow entr") else { return nil }
        let number = output[..<range.lowerBound].reversed().prefix { $0.isNumber }
        return Int(String(number.reversed()))
    }
}

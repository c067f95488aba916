import AsyncHTTPClient
import Glibc
import KubeModel
import NFTables
import NIOCore
import ServiceProxy
import Synchronization
import Testing

/// An nftables backend that takes every transaction (or refuses all while `failing`) and lists nothing.
final class RecordingBackend: NFTablesBackend {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "refused by the test" }
    }

    private let state = Mutex((applied: 0, failing: false))

    var applied: Int { state.withLock { $0.applied } }
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    func apply(_ tx: Transaction) throws {
        try state.withLock { s in
            if s.failing { throw Refused() }
            s.applied += 1
        }
    }

    func listTableNames(family: Family?) throws -> [(family: Family, name: String)] { [] }
    func listRules(family: Family, table: String, chain: String) throws -> [Rule] { [] }
    func listElements(family: Family, table: String, set: String) throws -> [Element] { [] }
    func listTable(family: Family, table: String) throws -> String? { nil }
    func replaceElements(of sets: [NFTSet], with elements: [Element]) throws {
        try apply(Transaction())
    }
    func tableInfo(family: Family, table: String) throws -> NFTTableInfo? { nil }
}

/// Conntrack that "deletes" two entries per flow, or fails while `failing`.
final class CountingConntrack: ConntrackCleaner {
    struct Failed: Error, CustomStringConvertible {
        var description: String { "conntrack refused by the test" }
    }

    private let state = Mutex((flows: [StaleUDPFlow](), failing: false))

    var flows: [StaleUDPFlow] { state.withLock { $0.flows } }
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    func delete(_ flows: [StaleUDPFlow]) throws -> Int {
        try state.withLock { s in
            if s.failing { throw Failed() }
            s.flows += flows
            return 2 * flows.count
        }
    }
}

/// A settable wall clock (Unix seconds).
final class TestClock: Sendable {
    private let value: Mutex<Double>
    init(_ start: Double) { value = Mutex(start) }
    var now: Double { value.withLock { $0 } }
    func advance(_ seconds: Double) { value.withLock { $0 += seconds } }
}

/// A Kubernetes object from YAML.
func object<T: KubeObject>(_ yaml: String) throws -> T {
    try Manifest.decode(try #require(try Manifest.decodeDocuments(yaml).first))
}

/// One request on a fresh connection (`Connection: close`, so no pooled connection outlives a closed server);
/// status, Content-Type and body.
func fetch(_ url: String) async throws -> (status: Int, type: String?, body: String) {
    var request = HTTPClientRequest(url: url)
    request.headers.add(name: "Connection", value: "close")
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
    let body = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), response.headers.first(name: "Content-Type"), String(buffer: body))
}

/// Whether something accepts TCP connections on `host:port` (IPv4 or IPv6 literal).
func accepts(_ host: String, _ port: Int) -> Bool {
    let v6 = host.contains(":")
    let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if v6 {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET6, host, &address.sin6_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
            }
        }
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &address.sin_addr)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// A TCP port free on every address right now (the kernel's pick for port 0, released again); when `hold`, the
/// socket stays open, listening on 0.0.0.0, and is returned for the caller to close.
func freePort(hold: Bool = false) throws -> (port: Int, socket: Int32?) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    try #require(bound == 0 && listen(fd, 8) == 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    let port = Int(UInt16(bigEndian: address.sin_port))
    if hold { return (port, fd) }
    close(fd)
    return (port, nil)
}

import Foundation
import Glibc
import Netlink
import Testing
import WeftNet

/// True when the tests may create namespaces and links.
let isRoot = getuid() == 0

/// A short random suffix for names of namespaces and links made by a test.
func randomSuffix(_ length: Int = 6) -> String {
    let digits = Array("0123456789abcdef")
    return String((0..<length).map { _ in digits[Int.random(in: 0..<16)] })
}

/// A network namespace made for one test, with a route socket inside it. ``destroy()`` removes it.
final class TestNetNS: @unchecked Sendable {
    let name: String
    let ns: NetNS
    let socket: RouteSocket

    init() throws {
        name = "weft-t" + randomSuffix(8)
        ns = try NetNS.create(name: name)
        socket = try RouteSocket(netns: ns)
    }

    func destroy() {
        socket.close()
        ns.close()
        do { try NetNS.delete(name: name) } catch { Issue.record("deleting netns \(name): \(error)") }
    }

    /// The link called `name` in this namespace; records an issue and throws if it is missing.
    func link(_ name: String) throws -> Link {
        try #require(try socket.link(named: name), "link \(name) missing in \(self.name)")
    }

    /// Brings up `lo`.
    func loopbackUp() throws {
        try socket.setUp(index: try link("lo").index)
    }
}

/// Runs `body` with `count` fresh namespaces, deleting them afterwards even when it throws.
func withNamespaces(_ count: Int, _ body: ([TestNetNS]) throws -> Void) throws {
    var made: [TestNetNS] = []
    defer { for n in made { n.destroy() } }
    for _ in 0..<count { made.append(try TestNetNS()) }
    try body(made)
}

/// Runs a command (only `ip`/`bridge` for cross-checks) and returns its standard output.
func run(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = Pipe()
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailed(command: arguments.joined(separator: " "), status: process.terminationStatus)
    }
    return String(decoding: data, as: UTF8.self)
}

struct CommandFailed: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var description: String { "\(command) exited with \(status)" }
}

/// Parses the JSON array that `ip -j` prints.
func runJSON(_ arguments: [String]) throws -> [[String: Any]] {
    let text = try run(arguments)
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return value as? [[String: Any]] ?? []
}

/// Monotonic clock in nanoseconds.
func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

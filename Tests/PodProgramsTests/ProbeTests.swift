import Foundation
import Glibc
import PodPrograms
import Testing

/// `Probe` in-process against `EchoServer` and against loopback peers that refuse or never answer.
@Suite struct ProbeTests {
    static let loopbacks = ["127.0.0.1", "::1"]

    /// `ip:port` as a probe takes it.
    static func target(_ ip: String, _ port: Int) throws -> ProbeTarget {
        try ProbeTarget(parsing: ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)")
    }

    static func probe(
        _ transport: ProbeProtocol, _ ip: String, _ port: Int, timeout: Duration = .seconds(2),
        path: String = "/hostname"
    ) async throws -> ProbeResult {
        await Probe(transport: transport, target: try target(ip, port), timeout: timeout, path: path).run()
    }

    @Test(arguments: loopbacks)
    func connectsToAServingPod(ip: String) async throws {
        try await withEchoServer(podName: "pod-p") { server in
            let udpPort = try #require(server.udpPort)
            #expect(try await Self.probe(.tcp, ip, server.httpPort) == .connected(output: nil))
            #expect(try await Self.probe(.http, ip, server.httpPort) == .connected(output: "pod-p"))
            #expect(
                try await Self.probe(.http, ip, server.httpPort, path: "/echo?msg=a%20b") == .connected(output: "a b"))
            #expect(try await Self.probe(.udp, ip, udpPort) == .connected(output: "pod-p"))
            #expect(try await Self.probe(.udp, ip, udpPort).exitCode == 0)
        }
    }

    /// A name, resolved through /etc/hosts (`localhost`), without any DNS query.
    @Test func resolvesANameThroughGetaddrinfo() async throws {
        try await withEchoServer(podName: "pod-n") { server in
            let target = try ProbeTarget(parsing: "localhost:\(server.httpPort)")
            #expect(await Probe(transport: .http, target: target).run() == .connected(output: "pod-n"))
        }
    }

    @Test(arguments: loopbacks)
    func closedTCPPortIsRefused(ip: String) async throws {
        let port = try TestSockets.closedPort(ip, type: Int32(SOCK_STREAM.rawValue))
        for transport in [ProbeProtocol.tcp, .http] {
            let result = try await Self.probe(transport, ip, port)
            #expect(result.exitCode == 1, "\(result)")
            #expect(result.message?.hasPrefix("REFUSED: connect to ") == true, "\(result)")
        }
    }

    /// A closed UDP port answers with ICMP port unreachable, which a connected UDP socket reports as ECONNREFUSED.
    @Test(arguments: loopbacks)
    func closedUDPPortIsRefused(ip: String) async throws {
        let port = try TestSockets.closedPort(ip, type: Int32(SOCK_DGRAM.rawValue))
        let result = try await Self.probe(.udp, ip, port)
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.message?.contains("Connection refused") == true, "\(result)")
    }

    @Test func httpStatusOutside2xxIsRejected() async throws {
        try await withEchoServer { server in
            let result = try await Self.probe(.http, "::1", server.httpPort, path: "/no/such/path")
            #expect(result.exitCode == 1)
            #expect(result.message?.hasSuffix("HTTP 404 Not Found") == true, "\(result)")
        }
    }

    /// A UDP socket that never reads: datagrams queue up and nothing answers, not even ICMP.
    @Test(arguments: loopbacks)
    func silentUDPPeerTimesOut(ip: String) async throws {
        let peer = try TestSockets.open(ip, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(peer) }
        try TestSockets.bind(peer, ip)
        let started = ContinuousClock.now
        let result = try await Self.probe(.udp, ip, TestSockets.port(peer), timeout: .milliseconds(300))
        let elapsed = ContinuousClock.now - started
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.message?.hasPrefix("TIMEOUT") == true)
        // The upper bound leaves room for a loaded machine: the probe runs on NIO's blocking thread pool (one thread
        // per core), where other tests' blocking work can queue ahead of it (a full parallel run once took > 5 s).
        // It only catches a timeout that is not applied.
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(30), "\(elapsed)")
    }

    /// A listener whose accept queue is full drops new SYNs (Linux does not reset them), so the handshake never
    /// completes: a TCP timeout without leaving loopback.
    @Test func fullAcceptQueueTimesOutTCP() async throws {
        let listener = try TestSockets.open("127.0.0.1", type: Int32(SOCK_STREAM.rawValue))
        defer { close(listener) }
        try TestSockets.bind(listener, "127.0.0.1")
        #expect(listen(listener, 0) == 0)
        let port = TestSockets.port(listener)
        let filler = try TestSockets.open("127.0.0.1", type: Int32(SOCK_STREAM.rawValue))
        defer { close(filler) }
        try TestSockets.connect(filler, "127.0.0.1", port)
        let result = try await Self.probe(.tcp, "127.0.0.1", port, timeout: .milliseconds(300))
        #expect(result.exitCode == 2, "\(result)")
    }

    /// A server that accepts the connection (the kernel does the handshake) but never answers the request.
    @Test(arguments: loopbacks)
    func silentHTTPServerTimesOut(ip: String) async throws {
        let listener = try TestSockets.open(ip, type: Int32(SOCK_STREAM.rawValue))
        defer { close(listener) }
        try TestSockets.bind(listener, ip)
        #expect(listen(listener, 8) == 0)
        let result = try await Self.probe(.http, ip, TestSockets.port(listener), timeout: .milliseconds(300))
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.message?.hasPrefix("TIMEOUT: receive from ") == true, "\(result)")
    }

    /// Responses `weft serve` never sends, from a canned server: the probe's HTTP reading beyond Content-Length.
    /// `closes`: the server closes after the response, else only once the probe has its result.
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n", false, 0),
        ("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello world", true, 0),
        ("HTTP/1.1 204 No Content\r\n\r\n", false, 0),
        ("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", false, 1),
        ("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nhello", true, 3),
        ("SSH-2.0-OpenSSH_9.6\r\n", true, 3),
        ("", true, 3),
    ])
    func readsHTTPResponsesOfEveryShape(response: String, closes: Bool, exitCode: Int32) async throws {
        let listener = try TestSockets.open("127.0.0.1", type: Int32(SOCK_STREAM.rawValue))
        defer { close(listener) }
        try TestSockets.bind(listener, "127.0.0.1")
        #expect(listen(listener, 8) == 0)
        // The canned server blocks, so it runs on a thread of its own rather than on Swift concurrency's few threads;
        // the sockets' 5 s timeouts end it if the probe never comes or never closes.
        Thread {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            _ = try? TestSockets.read(connection, until: "\r\n\r\n")
            try? TestSockets.sendAll(connection, response)
            if closes { shutdown(connection, Int32(SHUT_WR)) }
            _ = try? TestSockets.readToEnd(connection)
            close(connection)
        }.start()
        let target = try Self.target("127.0.0.1", TestSockets.port(listener))
        let outcome = await Probe(transport: .http, target: target, timeout: .seconds(3)).run()
        #expect(outcome.exitCode == exitCode, "\(outcome)")
        if exitCode == 0 {
            #expect(outcome == .connected(output: response.contains("hello") ? "hello world" : ""))
        }
    }

    /// A label longer than 63 bytes cannot be put in a DNS query, so the resolver fails without sending one:
    /// resolution fails and no packet leaves the machine.
    @Test func unresolvableNameIsAnOtherError() async throws {
        let name = String(repeating: "a", count: 70) + ".invalid"
        let result = await Probe(transport: .tcp, target: try ProbeTarget(parsing: "\(name):80")).run()
        #expect(result.exitCode == 3, "\(result)")
        #expect(result.message?.hasPrefix("DNS: cannot resolve") == true, "\(result)")
    }

    @Test(arguments: [
        ("icmp", "1s", "/hostname", ["127.0.0.1:80"]),
        ("tcp", "1x", "/hostname", ["127.0.0.1:80"]),
        ("tcp", "0", "/hostname", ["127.0.0.1:80"]),
        ("tcp", "-1s", "/hostname", ["127.0.0.1:80"]),
        ("http", "1s", "hostname", ["127.0.0.1:80"]),
        ("http", "1s", "/a b", ["127.0.0.1:80"]),
        ("tcp", "1s", "/hostname", []),
        ("tcp", "1s", "/hostname", ["127.0.0.1:80", "127.0.0.1:81"]),
        ("tcp", "1s", "/hostname", ["--frobnicate", "127.0.0.1:80"]),
        ("tcp", "1s", "/hostname", ["127.0.0.1"]),
        ("tcp", "1s", "/hostname", ["::1:80"]),
        ("tcp", "1s", "/hostname", ["[::1]80"]),
        ("tcp", "1s", "/hostname", [":80"]),
        ("tcp", "1s", "/hostname", ["127.0.0.1:0"]),
        ("tcp", "1s", "/hostname", ["127.0.0.1:65536"]),
        ("tcp", "1s", "/hostname", ["127.0.0.1:http"]),
        ("tcp", "1s", "/hostname", ["127.0.0.1:+80"]),
    ])
    func garbageArgumentsAreOtherErrors(transport: String, timeout: String, path: String, operands: [String]) {
        let error = #expect(throws: ProbeUsageError.self) {
            try Probe(protocol: transport, timeout: timeout, path: path, operands: operands)
        }
        #expect(error?.result.exitCode == 3)
        #expect(error?.result.message?.hasPrefix("UNKNOWN: ") == true)
    }

    @Test func parsesTargetsAndArguments() throws {
        let v6 = try ProbeTarget(parsing: "[fd00::1]:8080")
        #expect(v6.host == "fd00::1" && v6.port == 8080 && v6.bracketed && v6.description == "[fd00::1]:8080")
        let name = try ProbeTarget(parsing: "web.default.svc:80")
        #expect(name.host == "web.default.svc" && name.port == 80 && !name.bracketed)
        let probe = try Probe(protocol: "udp", timeout: "1500ms", path: "/x", operands: ["10.0.0.1:53"])
        #expect(probe.transport == .udp && probe.timeout == .milliseconds(1500) && probe.path == "/x")
        #expect(probe.target.host == "10.0.0.1" && probe.target.port == 53)
    }
}

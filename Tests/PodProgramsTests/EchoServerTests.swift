import Glibc
import PodPrograms
import Testing

/// `EchoServer` in-process on ephemeral ports, talked to over loopback with plain sockets.
@Suite struct EchoServerTests {
    static let loopbacks = ["127.0.0.1", "::1"]

    @Test(arguments: loopbacks)
    func httpPathsAnswerWithThePodNameHeader(ip: String) async throws {
        try await withEchoServer(podName: "pod-a") { server in
            let hostname = try HTTPReply.get(ip, server.httpPort, "/hostname")
            #expect(hostname.status == 200)
            #expect(hostname.body == "pod-a")
            #expect(hostname.header("X-Pod-Name") == ["pod-a"])

            let echo = try HTTPReply.get(ip, server.httpPort, "/echo?code=1&msg=hello+there%21%20%C3%A9")
            #expect(echo.status == 200)
            #expect(echo.body == "hello there! é")
            #expect(echo.header("X-Pod-Name") == ["pod-a"])

            let health = try HTTPReply.get(ip, server.httpPort, "/healthz")
            #expect(health.status == 200)
            #expect(health.body == "ok")
            #expect(health.header("X-Pod-Name") == ["pod-a"])

            for path in ["/", "/nope", "/hostname/x", "/echoes?msg=x"] {
                let missing = try HTTPReply.get(ip, server.httpPort, path)
                #expect(missing.status == 404, "\(path)")
                #expect(missing.header("X-Pod-Name") == ["pod-a"], "\(path)")
            }
        }
    }

    @Test(arguments: loopbacks)
    func clientIPIsTheClientsAddress(ip: String) async throws {
        try await withEchoServer { server in
            let reply = try HTTPReply.get(ip, server.httpPort, "/clientip")
            #expect(reply.status == 200)
            #expect(reply.body == reply.clientAddress)
            #expect(reply.body.hasPrefix(ip.contains(":") ? "[::1]:" : "127.0.0.1:"))
        }
    }

    @Test func keepAliveAndPipelinedRequestsEachCarryTheHeader() async throws {
        try await withEchoServer(podName: "pod-k") { server in
            let request =
                "GET /hostname HTTP/1.1\r\nHost: t\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
                + "GET /echo?msg=last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            let reply = try HTTPReply.get("127.0.0.1", server.httpPort, "", request: request)
            #expect(reply.raw.ranges(of: "X-Pod-Name: pod-k\r\n").count == 3, "\(reply.raw)")
            #expect(reply.raw.contains("HTTP/1.1 404 Not Found"))
            #expect(reply.raw.hasSuffix("last"))
        }
    }

    @Test func malformedRequestGets400WithTheHeader() async throws {
        try await withEchoServer(podName: "pod-b") { server in
            let reply = try HTTPReply.get("::1", server.httpPort, "", request: "NOT HTTP AT ALL\r\n\r\n")
            #expect(reply.status == 400)
            #expect(reply.header("X-Pod-Name") == ["pod-b"])
        }
    }

    @Test(arguments: loopbacks)
    func udpAnswersHostnameEchoAndClientIP(ip: String) async throws {
        try await withEchoServer(podName: "pod-u") { server in
            let port = try #require(server.udpPort)
            #expect(try udpExchange(ip, port, "hostname") == "pod-u")
            #expect(try udpExchange(ip, port, "hostname\n") == "pod-u")
            #expect(try udpExchange(ip, port, "echo Hello World") == "Hello World")
            let clientIP = try #require(try udpExchange(ip, port, "clientip"))
            #expect(clientIP.hasPrefix(ip.contains(":") ? "[::1]:" : "127.0.0.1:"), "\(clientIP)")
            #expect(try udpExchange(ip, port, "what is this", seconds: 1) == nil)
            // Still serving after a message it does not answer.
            #expect(try udpExchange(ip, port, "HOSTNAME") == "pod-u")
        }
    }

    @Test func closeStopsServing() async throws {
        let server = try await EchoServer.start(EchoServer.Configuration(podName: "pod-c", httpPort: 0, udpPort: nil))
        let port = server.httpPort
        #expect(server.udpPort == nil)
        // A keep-alive connection left open must not keep the server alive.
        let idle = try TestSockets.open("127.0.0.1", type: Int32(SOCK_STREAM.rawValue))
        defer { close(idle) }
        try TestSockets.connect(idle, "127.0.0.1", port)
        try TestSockets.sendAll(idle, "GET /hostname HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try TestSockets.read(idle, until: "pod-c").hasPrefix("HTTP/1.1 200 OK"))
        await server.close()
        #expect(try TestSockets.readToEnd(idle) == "")
        #expect(throws: TestSockets.Failure.self) { try HTTPReply.get("127.0.0.1", port, "/hostname") }
    }

    @Test func aTakenPortFailsTheStartClearly() async throws {
        try await withEchoServer { first in
            let error = await #expect(throws: ServeError.self) {
                _ = try await EchoServer.start(EchoServer.Configuration(httpPort: first.httpPort, udpPort: nil))
            }
            #expect(error?.description == "cannot listen for HTTP on port \(first.httpPort): Address already in use")
        }
    }

    /// SCTP where the kernel has it; elsewhere the clear refusal to start.
    @Test func sctpServesOrFailsClearly() async throws {
        guard TestSockets.sctpSupported else {
            let error = await #expect(throws: ServeError.self) {
                _ = try await EchoServer.start(EchoServer.Configuration(httpPort: 0, udpPort: nil, sctpPort: 0))
            }
            #expect(error?.description.hasPrefix("SCTP is not supported by this kernel") == true)
            return
        }
        try await withEchoServer(podName: "pod-s", udp: false, sctp: true) { server in
            let port = try #require(server.sctpPort)
            let result = await Probe(transport: .sctp, target: try ProbeTarget(parsing: "127.0.0.1:\(port)")).run()
            #expect(result == .connected(output: "pod-s"))
        }
    }
}

import Foundation
import Glibc
import Testing

/// `weft serve` and `weft probe` as the lab runs them: the built binary, as processes, over loopback.
@Suite struct CommandTests {
    /// The `weft` binary beside this test bundle in the build directory ($WEFT_BIN overrides).
    static let weft: String = {
        if let path = ProcessInfo.processInfo.environment["WEFT_BIN"] { return path }
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("weft").path
    }()

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `weft ARGUMENTS` to its end (killed after 10 s), inside `netns` when given.
    static func run(_ arguments: [String], netns: String? = nil) throws -> Outcome {
        let process = try start(arguments, netns: netns)
        let deadline = ContinuousClock.now + .seconds(10)
        while process.process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
        process.process.waitUntilExit()
        return Outcome(
            status: process.process.terminationStatus,
            stdout: String(decoding: process.stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            stderr: String(decoding: process.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// Starts `weft ARGUMENTS` (through `ip netns exec NETNS` when given) with `POD_NAME` set to `podName`.
    static func start(_ arguments: [String], podName: String? = nil, netns: String? = nil) throws -> (
        process: Process, stdout: Pipe, stderr: Pipe
    ) {
        guard access(weft, X_OK) == 0 else { throw TestSockets.Failure("no weft binary at \(weft)", ENOENT) }
        let process = Process()
        if let netns {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", netns, weft] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: weft)
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["POD_NAME"] = podName
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        return (process, stdout, stderr)
    }

    /// A `weft serve` process on ephemeral ports; `stop()` sends SIGTERM and returns how it exited.
    final class Server {
        let process: Process
        let stdout: Pipe
        let stderr: Pipe
        private(set) var httpPort = 0
        private(set) var udpPort = 0

        init(podName: String, netns: String? = nil) throws {
            let arguments = ["serve", "--http-port", "0", "--udp-port", "0"]
            let started = try CommandTests.start(arguments, podName: podName, netns: netns)
            process = started.process
            stdout = started.stdout
            stderr = started.stderr
            // The first line tells the ports: "weft serve: pod NAME: http PORT, udp PORT (…)".
            let line = readLine(seconds: 10)
            guard let http = Self.number(after: "http ", in: line), let udp = Self.number(after: "udp ", in: line)
            else {
                kill()
                throw TestSockets.Failure("weft serve did not start: \(line)", 0)
            }
            httpPort = http
            udpPort = udp
        }

        private func readLine(seconds: Int32) -> String {
            let fd = stdout.fileHandleForReading.fileDescriptor
            var bytes: [UInt8] = []
            var byte: UInt8 = 0
            while bytes.last != UInt8(ascii: "\n") {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&entry, 1, seconds * 1000) > 0, read(fd, &byte, 1) == 1 else { break }
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        private static func number(after key: String, in line: String) -> Int? {
            guard let range = line.range(of: key) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }

        /// SIGTERM, then the exit status once it has exited (SIGKILL after 5 s, reported as nil).
        func stop() -> Int32? {
            guard process.isRunning else { return process.terminationStatus }
            Glibc.kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            guard !process.isRunning else {
                kill()
                return nil
            }
            return process.terminationStatus
        }

        func kill() {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }

        deinit { kill() }
    }

    @Test func serveAnswersProbesAndStopsOnSIGTERM() throws {
        let server = try Server(podName: "bin-pod")
        defer { server.kill() }
        let http = try Self.run(["probe", "--protocol", "http", "127.0.0.1:\(server.httpPort)"])
        #expect(http.status == 0, "\(http.stderr)")
        #expect(http.stdout == "bin-pod\n")
        #expect(http.stderr == "")

        let echo = try Self.run(["probe", "--protocol", "http", "--path", "/echo?msg=hi", "[::1]:\(server.httpPort)"])
        #expect(echo.status == 0 && echo.stdout == "hi\n", "\(echo)")

        let udp = try Self.run(["probe", "--protocol", "udp", "--timeout", "2s", "[::1]:\(server.udpPort)"])
        #expect(udp.status == 0 && udp.stdout == "bin-pod\n", "\(udp)")

        let tcp = try Self.run(["probe", "127.0.0.1:\(server.httpPort)"])
        #expect(tcp.status == 0 && tcp.stdout == "", "\(tcp)")

        let missing = try Self.run(["probe", "--protocol", "http", "--path", "/nope", "127.0.0.1:\(server.httpPort)"])
        #expect(missing.status == 1 && missing.stdout == "", "\(missing)")
        #expect(missing.stderr.contains("HTTP 404 Not Found"))

        let header = try HTTPReply.get("127.0.0.1", server.httpPort, "/clientip")
        #expect(header.header("X-Pod-Name") == ["bin-pod"])
        #expect(header.body == header.clientAddress)

        #expect(server.stop() == 0)
        let afterStop = try Self.run(["probe", "--timeout", "500ms", "127.0.0.1:\(server.httpPort)"])
        #expect(afterStop.status == 1, "\(afterStop)")
    }

    @Test func probeExitCodesForRefusalTimeoutAndGarbage() throws {
        let closed = try TestSockets.closedPort("127.0.0.1", type: Int32(SOCK_STREAM.rawValue))
        let refused = try Self.run(["probe", "--protocol", "tcp", "127.0.0.1:\(closed)"])
        #expect(refused.status == 1 && refused.stderr.hasPrefix("REFUSED"), "\(refused)")

        let silent = try TestSockets.open("::1", type: Int32(SOCK_DGRAM.rawValue))
        defer { close(silent) }
        try TestSockets.bind(silent, "::1")
        let timedOut = try Self.run([
            "probe", "--protocol", "udp", "--timeout", "300ms", "[::1]:\(TestSockets.port(silent))",
        ])
        #expect(timedOut.status == 2 && timedOut.stderr.hasPrefix("TIMEOUT"), "\(timedOut)")

        for arguments in [
            ["--protocol", "bogus", "127.0.0.1:80"], ["--timeout", "soon", "127.0.0.1:80"], ["127.0.0.1"],
            ["--frobnicate", "127.0.0.1:80"], [], ["127.0.0.1:80", "extra"],
        ] {
            let garbage = try Self.run(["probe"] + arguments)
            #expect(garbage.status == 3, "\(arguments): \(garbage)")
            #expect(garbage.stderr.hasPrefix("UNKNOWN: "), "\(arguments): \(garbage)")
        }
    }

    @Test func serveFailsClearlyWhenItCannotServe() throws {
        let taken = try TestSockets.open("127.0.0.1", type: Int32(SOCK_STREAM.rawValue))
        defer { close(taken) }
        try TestSockets.bind(taken, "127.0.0.1")
        #expect(listen(taken, 1) == 0)
        let busy = try Self.run(["serve", "--http-port", "\(TestSockets.port(taken))", "--udp-port", "-1"])
        #expect(busy.status != 0)
        #expect(busy.stderr.contains("cannot listen for HTTP on port \(TestSockets.port(taken))"), "\(busy)")

        guard !TestSockets.sctpSupported else { return }
        let sctp = try Self.run(["serve", "--http-port", "0", "--udp-port", "-1", "--sctp-port", "0"])
        #expect(sctp.status != 0)
        #expect(sctp.stderr.contains("SCTP is not supported by this kernel"), "\(sctp)")
    }
}

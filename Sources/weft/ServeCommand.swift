import ArgumentParser
import Glibc
import PodPrograms

/// `weft serve`: the server pods run in the lab, after agnhost `netexec`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the pod's name over HTTP, UDP and SCTP on every IPv4 and IPv6 address (agnhost netexec).",
        discussion: """
            HTTP: /hostname, /clientip, /echo?msg=X, /healthz; other paths 404. Every response carries the header \
            X-Pod-Name. UDP (and SCTP): the message `hostname` is answered with the pod's name, `echo X` with X, \
            `clientip` with the sender's address. The pod's name is $POD_NAME, else the host name. Port 0 lets the \
            kernel pick one; the ports are printed once serving. Stops on SIGTERM or SIGINT.
            """
    )

    @Option(help: "HTTP port.") var httpPort = 8080
    @Option(parsing: .unconditional, help: "UDP port; -1 for no UDP server.") var udpPort = 8081
    @Option(help: "SCTP port (needs the kernel's sctp module); no SCTP server without it.") var sctpPort: Int?

    func validate() throws {
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be 0–65535") }
        guard udpPort == -1 || (0...65535).contains(udpPort) else {
            throw ValidationError("--udp-port must be 0–65535, or -1")
        }
        if let sctpPort, !(0...65535).contains(sctpPort) { throw ValidationError("--sctp-port must be 0–65535") }
    }

    func run() async throws {
        let server = try await EchoServer.start(
            EchoServer.Configuration(httpPort: httpPort, udpPort: udpPort == -1 ? nil : udpPort, sctpPort: sctpPort))
        // Unbuffered, so that whoever started it (the lab, a test) sees the ports at once.
        let line = Array("weft serve: \(server.summary)\n".utf8)
        _ = write(STDOUT_FILENO, line, line.count)
        try await server.runUntilTerminated()
    }
}

import ArgumentParser
import Glibc
import PodPrograms

/// `weft probe`: one connection attempt whose exit code tells what happened, after agnhost `connect`.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Connect to HOST:PORT over tcp, udp, sctp or http and tell how it went (agnhost connect).",
        discussion: """
            Exit 0: connected (http: answered 2xx, the body printed; udp and sctp: the answer to `hostname` \
            printed). Exit 1: refused or rejected (TCP reset, ICMP unreachable, SCTP abort, HTTP status not 2xx). \
            Exit 2: timed out. Exit 3: anything else (bad arguments, a name that does not resolve). HOST is an IPv4 \
            address, an IPv6 address in brackets, or a name.
            """
    )

    // Values are taken as text and checked by `Probe`, so that bad ones exit 3 like every other probe error,
    // rather than with ArgumentParser's usage exit code.
    @Option(name: .customLong("protocol"), help: "tcp, udp, sctp or http.") var transport = "tcp"
    @Option(help: "How long the whole attempt may take, as a Go duration (500ms, 1s, 2m).") var timeout = "1s"
    @Option(help: "The path to GET, for http.") var path = "/hostname"
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The target.", valueName: "host:port"))
    var operands: [String] = []

    func run() async throws {
        let result: ProbeResult
        do {
            let probe = try Probe(protocol: transport, timeout: timeout, path: path, operands: operands)
            result = await probe.run()
        } catch {
            result = error.result
        }
        if case .connected(let output?) = result {
            print(output, terminator: output.hasSuffix("\n") ? "" : "\n")
        }
        if let message = result.message {
            var line = Array((message + "\n").utf8)
            _ = write(STDERR_FILENO, &line, line.count)
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

import ArgumentParser
import Glibc

/// The Weft command line.
@main
struct Weft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft",
        abstract:
            "Kubernetes networking in Swift: a CNI plugin, an embedded API server, node agents and a lab to run them in.",
        version: "0.1.0",
        subcommands: [
            CNIInstall.self, APIServerCommand.self, ServeCommand.self, ProbeCommand.self,
            AgentCommand.self, DNSCommand.self, LabCommand.self, PolicyCommand.self, IngressCommand.self,
        ]
    )

    /// ArgumentParser's own, except that `weft policy trace` exits 2 on usage errors (its 1 means denied).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if PolicyCommand.Trace.isInvoked(CommandLine.arguments), exitCode(for: error) == .validationFailure {
                var line = Array((fullMessage(for: error) + "\n").utf8)
                _ = write(STDERR_FILENO, &line, line.count)
                exit(withError: ExitCode(PolicyCommand.Trace.usageExitCode))
            }
            exit(withError: error)
        }
    }
}

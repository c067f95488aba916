import ArgumentParser

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
            AgentCommand.self, DNSCommand.self, LabCommand.self,
        ]
    )
}

import ArgumentParser

/// The Weft command line.
@main
struct Weft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft",
        abstract: "Kubernetes networking in Swift: pod network (CNI), an embedded API server, and more to come.",
        version: "0.1.0",
        subcommands: [
            Demo.self, CNIInstall.self, APIServerCommand.self, ServeCommand.self, ProbeCommand.self,
            AgentCommand.self, LabCommand.self,
        ]
    )
}

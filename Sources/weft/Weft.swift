import ArgumentParser

/// The Weft command line.
@main
struct Weft: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft",
        abstract: "Kubernetes networking: pod network, services, DNS, policies, ingress.",
        version: "0.1.0",
        subcommands: [Demo.self]
    )
}

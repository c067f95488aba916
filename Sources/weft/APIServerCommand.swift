import APIServer
import ArgumentParser

/// `weft apiserver`: the embedded Kubernetes-compatible API server in the foreground.
struct APIServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apiserver",
        abstract: "Run the embedded Kubernetes API server (HTTPS, tokens, SQLite) in the foreground.",
        discussion: "Writes DATA_DIR/kubeconfig for an admin user: `kubectl --kubeconfig DATA_DIR/kubeconfig get ns`."
    )

    @Option(help: "Directory for state.db, pki/, tokens.csv and kubeconfig.") var dataDir: String
    @Option(help: "host:port to listen on.") var listen = "127.0.0.1:6443"
    @Option(name: .customLong("san"), help: "Extra certificate name or IP (repeatable).") var san: [String] = []
    @Option(help: "Address the `kubernetes` Service points at (default: the listen address).")
    var advertiseAddress: String?

    func run() async throws {
        let (host, port) = try APIServerConfiguration.parseListen(listen)
        var configuration = APIServerConfiguration(
            dataDir: dataDir, host: host, port: port, subjectAlternativeNames: san)
        configuration.advertiseAddress = advertiseAddress
        let server = try APIServer(configuration: configuration)
        try await server.runUntilTerminated()
    }
}

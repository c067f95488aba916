import KubeClient
import Logging
import ServiceLifecycle

extension ServiceGroup {
    /// Runs `services` until SIGTERM or SIGINT (or one of them fails), then shuts `client` down: how the commands
    /// that watch the API (`agent`, `dns`, `ingress`) run.
    static func run(_ services: [any Service], closing client: KubeClient, logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

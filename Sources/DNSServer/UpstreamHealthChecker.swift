import ServiceLifecycle

/// Asks failing upstreams every `interval` whether they answer again (CoreDNS's `forward` checks every 0.5 s).
public struct UpstreamHealthChecker: ServiceLifecycle.Service {
    let forwarder: Forwarder
    let interval: Duration

    public init(forwarder: Forwarder, interval: Duration = .milliseconds(500)) {
        self.forwarder = forwarder
        self.interval = interval
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await forwarder.checkHealth()
            }
        }
    }
}

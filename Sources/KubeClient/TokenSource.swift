import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The bearer token of each request: fixed, or read from a file and re-read at most once per `refresh`
/// (service-account tokens are rotated on disk).
final class TokenSource: Sendable {
    private let credentials: ClientConfiguration.Credentials
    private let refresh: Duration
    private let cached = Mutex<(token: String, readAt: ContinuousClock.Instant)?>(nil)

    init(_ credentials: ClientConfiguration.Credentials, refresh: Duration = .seconds(60)) {
        self.credentials = credentials
        self.refresh = refresh
    }

    func token() throws(KubeClientError) -> String? {
        switch credentials {
        case .none: return nil
        case .token(let token): return token
        case .tokenFile(let path):
            let now = ContinuousClock.now
            if let hit = cached.withLock({ c in c.flatMap { now - $0.readAt < refresh ? $0.token : nil } }) {
                return hit
            }
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw .unreadableTokenFile(path: path, reason: "\(error)")
            }
            let token = String(decoding: data, as: UTF8.self).trimmedWhitespace
            cached.withLock { $0 = (token, now) }
            return token
        }
    }
}

/// The outcome of one `weft probe`, with agnhost `connect`'s categories and Weft's exit codes.
///
/// Messages start with agnhost's fixed prefixes (`REFUSED`, `TIMEOUT`, `DNS`, `UNKNOWN`, `OTHER`), so upstream e2e
/// checks on stderr translate directly; the exit code tells the categories apart without parsing.
public enum ProbeResult: Sendable, Equatable {
    /// Connected (and, for http, answered 2xx): exit 0. `output` is the HTTP body or the UDP/SCTP reply, nil for tcp.
    case connected(output: String?)
    /// Refused or rejected: a TCP RST (ECONNREFUSED), an ICMP unreachable or admin-prohibited, a local firewall's
    /// refusal, an SCTP ABORT, an HTTP status that is not 2xx: exit 1.
    case refused(String)
    /// No answer before the timeout: exit 2.
    case timedOut(String)
    /// Anything else: bad arguments, a name that does not resolve, a malformed answer, an unexpected error: exit 3.
    case failed(String)

    /// The process exit code for this outcome.
    public var exitCode: Int32 {
        switch self {
        case .connected: 0
        case .refused: 1
        case .timedOut: 2
        case .failed: 3
        }
    }

    /// What `weft probe` prints on stderr; nil when it succeeded.
    public var message: String? {
        switch self {
        case .connected: nil
        case .refused(let m), .timedOut(let m), .failed(let m): m
        }
    }
}

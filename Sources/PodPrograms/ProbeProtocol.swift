/// What `weft probe` speaks to its target.
public enum ProbeProtocol: String, Sendable, CaseIterable {
    /// A TCP handshake.
    case tcp
    /// A datagram `hostname`, answered by the server (a closed port answers with ICMP port unreachable).
    case udp
    /// An SCTP association, then the message `hostname` and its answer.
    case sctp
    /// A TCP connection, then `GET path` answered with a 2xx status.
    case http
}

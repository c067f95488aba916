import NFTables
import WeftNet

/// A layer-4 protocol of a traced packet.
public enum TracedProtocol: UInt8, Sendable, Hashable, CaseIterable {
    case icmp = 1
    case tcp = 6
    case udp = 17
    case icmpv6 = 58
    case sctp = 132

    /// Whether the protocol has ports (`th sport`/`th dport` read them).
    public var hasPorts: Bool { self == .tcp || self == .udp || self == .sctp }
}

/// A virtual packet: the addresses, protocol and ports of its IP and transport headers, and its mark.
public struct TracedPacket: Sendable, Hashable, CustomStringConvertible {
    public var source: IPAddress
    public var destination: IPAddress
    public var `protocol`: TracedProtocol
    /// Ports of TCP, UDP and SCTP (ignored for ICMP).
    public var sourcePort: Int
    public var destinationPort: Int
    /// The packet mark (`meta mark`).
    public var mark: UInt32
    /// The interface it arrived on (`meta iifname`), when it matters.
    public var inputInterface: String?
    /// The interface it leaves through (`meta oifname`), when it matters.
    public var outputInterface: String?

    public init(
        _ protocol: TracedProtocol, from source: IPAddress, to destination: IPAddress, port destinationPort: Int,
        sourcePort: Int = 40000, mark: UInt32 = 0, inputInterface: String? = nil, outputInterface: String? = nil
    ) {
        precondition(source.family == destination.family, "source and destination of different families")
        self.source = source
        self.destination = destination
        self.protocol = `protocol`
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.mark = mark
        self.inputInterface = inputInterface
        self.outputInterface = outputInterface
    }

    /// `TracedPacket(.tcp, from: "10.244.0.5", to: "10.96.0.10", port: 80)`: addresses as text (must parse).
    public init(
        _ protocol: TracedProtocol, from source: String, to destination: String, port destinationPort: Int,
        sourcePort: Int = 40000, mark: UInt32 = 0
    ) {
        self.init(
            `protocol`, from: IPAddress(source)!, to: IPAddress(destination)!, port: destinationPort,
            sourcePort: sourcePort, mark: mark)
    }

    public var family: IPFamily { source.family }

    public var description: String {
        func endpoint(_ address: IPAddress, _ port: Int) -> String {
            guard self.protocol.hasPorts else { return address.description }
            return address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
        }
        return "\(Field.protocolName(self.protocol.rawValue)) \(endpoint(source, sourcePort)) -> "
            + "\(endpoint(destination, destinationPort))" + (mark == 0 ? "" : " mark 0x\(String(mark, radix: 16))")
    }

    private typealias Field = PacketTracer.Field
}

/// An address and port a connection was translated to.
public struct NATBinding: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var port: Int

    public init(address: IPAddress, port: Int) {
        self.address = address
        self.port = port
    }

    public var description: String { address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)" }
}

/// What happened to a traced packet, and every step on its way.
public struct PacketTrace: Sendable, CustomStringConvertible {
    /// Where the packet ended.
    public enum Fate: Sendable, Hashable {
        /// Through input to a local socket.
        case deliveredLocally
        /// Through forward and postrouting, out of the node.
        case forwarded
        /// Locally generated, through output and postrouting, out of the node.
        case sent
        case dropped
        /// Rejected, with what the reject sends back (`tcp reset`, `icmpx port-unreachable`, …).
        case rejected(String)

        public var isAccepted: Bool {
            switch self {
            case .deliveredLocally, .forwarded, .sent: true
            case .dropped, .rejected: false
            }
        }
    }

    /// One line of the trace: a chain entered, a rule evaluated, a policy applied, a conntrack or routing step.
    public struct Step: Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable { case chain, rule, policy, skipped, conntrack, routing }
        public var kind: Kind
        public var hook: Hook?
        /// `inet weft-proxy`, for chain, rule and policy steps.
        public var table: String?
        public var chain: String?
        public var handle: Int?
        /// The rule's body.
        public var rule: String?
        /// For a rule: whether every match in it held (its statements ran).
        public var matched: Bool
        /// What the rule did: `mark set 0x4000`, `dnat to 10.244.0.5:8080`, `jump services`, …
        public var effects: [String]
        /// Nesting through jumps and gotos (0 in a base chain).
        public var depth: Int

        public var description: String {
            let indent = String(repeating: "  ", count: depth + (kind == .rule || kind == .policy ? 1 : 0))
            let effects = self.effects.isEmpty ? "" : ": " + self.effects.joined(separator: ", ")
            switch kind {
            case .chain:
                let hook = depth == 0 ? self.hook.map { "[\($0.rawValue)] " } ?? "" : ""
                return indent + hook + "\(table ?? "") \(chain ?? "")" + effects
            case .rule:
                return indent + "rule \(handle.map(String.init) ?? "?") `\(rule ?? "")` "
                    + (matched ? "matched" : "no match") + effects
            case .policy:
                return indent + self.effects.joined(separator: ", ")
            case .skipped, .conntrack, .routing:
                return indent + "\(kind)" + effects
            }
        }
    }

    /// A change of a dynamic set from the packet path (`update @set { ip saddr }`).
    public struct SetUpdate: Sendable, Hashable {
        public var table: String
        public var set: String
        /// The element's key as nft writes it.
        public var key: String
        /// `add` or `update`.
        public var operation: String
        /// When it expires, in the tracer's seconds (`nil`: never).
        public var expires: Double?
    }

    /// The packet as it arrived or was sent.
    public var original: TracedPacket
    /// The packet as it left (after NAT and mark changes), whatever its fate.
    public var packet: TracedPacket
    public var fate: PacketTrace.Fate
    /// True for the first packet of a connection (nat chains ran), false when conntrack knew it.
    public var isNewConnection: Bool
    public var steps: [Step]
    /// Where DNAT sent the connection (by a rule, or by conntrack for a follow-up packet).
    public var dnat: NATBinding?
    /// The source SNAT or masquerade gave the connection.
    public var snat: NATBinding?
    /// Whether the source was masqueraded, and the flags (`fully-random`).
    public var masquerade: [String]?
    /// Each mark a rule set, in order.
    public var marksSet: [UInt32]
    /// Dynamic set changes made by this packet.
    public var setUpdates: [SetUpdate]
    /// Every `numgen random` value drawn (after `mod` and `offset`).
    public var randomNumbers: [UInt32]

    /// The base and regular chains entered, in order (`table chain`, without hooks).
    public var chains: [String] { steps.filter { $0.kind == .chain }.compactMap(\.chain) }
    /// The bodies of the rules whose matches held, in order.
    public var matchedRules: [String] { steps.filter { $0.kind == .rule && $0.matched }.compactMap(\.rule) }
    /// The rule that dropped or rejected the packet (nil when accepted or dropped by a policy).
    public var decidingRule: String? {
        guard !fate.isAccepted else { return nil }
        guard let last = steps.last(where: { $0.kind == .rule || $0.kind == .policy }), last.kind == .rule else {
            return nil
        }
        return last.rule
    }
    public var wasMasqueraded: Bool { masquerade != nil }

    public var description: String {
        (["\(original) → \(fate)"] + steps.map(\.description)).joined(separator: "\n")
    }
}

/// Unsupported syntax in a rule, set or element, or a state the tracer cannot follow (a missing chain or set,
/// a jump loop). Never swallowed: a rule the tracer cannot read does not silently match or not match.
public struct PacketTracerError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// `inet weft-proxy chain services handle 12: <body>` or `… set backends4-16`.
    public var location: String?

    public init(_ message: String, location: String? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String { location.map { "\($0): \(message)" } ?? message }
}

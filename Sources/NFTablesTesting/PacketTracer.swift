import NFTables
import WeftNet

/// Walks virtual packets through the ruleset a `FakeNFTables` holds, as the kernel would, and reports every chain
/// and rule visited, what matched, the verdict, the NAT done, marks set and dynamic sets updated.
///
/// The path: an incoming packet goes through `prerouting`, then the routing decision (`Routing`: by default local
/// delivery when the destination, after DNAT, is one of `localAddresses`), then `input` or `forward` +
/// `postrouting`; a locally generated one through `output` and `postrouting` (and, to a local address, on through
/// `prerouting` and `input` as loopback does). At each hook the base chains of the `ip`, `ip6` and `inet` tables
/// run in priority order (`raw` -300, `mangle` -150, `dstnat` -100, `filter` 0, `security` 50, `srcnat` 100,
/// with `± n`); a drop or reject ends the walk, an accept ends only its chain.
///
/// A minimal conntrack follows connections by their original 5-tuple: nat chains run only for a connection's
/// first packet (and only until one of them sets up the hook's NAT), its NAT is replayed for later packets, and
/// `ct state` is `new` for the first packet and `established` afterwards; `ct status` has `dnat`/`snat` once NAT
/// was set up. Connections are recorded when the first packet is accepted. Replies are not modelled.
///
/// Rules are interpreted, not pattern-matched: the subset of nft that Weft's service proxy and CNI emit (see
/// `PacketTracer+Syntax.swift`). Anything else throws `PacketTracerError` naming the rule — a rule is never
/// silently skipped. Dynamic sets (`update @set { ip saddr }`) keep their packet-path elements in the tracer
/// between packets, expiring them by the tracer's clock (`advance(seconds:)`); `numgen random` draws from
/// `random`, so traces are deterministic.
public final class PacketTracer {
    /// Where a packet comes from.
    public enum Path: Sendable, Hashable {
        /// Arrives on an interface: prerouting, the routing decision, input or forward + postrouting.
        case incoming(Routing = .automatic)
        /// Sent by a local process: output, postrouting (then prerouting and input when it is for this host).
        case outgoing
    }

    /// The routing decision after prerouting.
    public enum Routing: Sendable, Hashable {
        /// Local delivery when the destination (after DNAT) is one of `localAddresses`, else forward.
        case automatic
        case deliverLocally
        case forward
    }

    /// What `numgen random` draws before `mod`.
    public enum RandomSource: Sendable, Hashable {
        /// Always this number.
        case fixed(UInt32)
        /// These numbers in turn, starting over after the last.
        case sequence([UInt32])
        /// A pseudo-random sequence from a seed (SplitMix64).
        case seeded(UInt64)
    }

    /// The ruleset, read at each trace (so syncs between traces are seen).
    public let nft: FakeNFTables
    /// The node's addresses: the routing decision's local destinations, and the source masquerade gives (the
    /// first of the packet's family).
    public var localAddresses: [IPAddress]
    /// The source of `numgen random`; setting it starts it over.
    public var random: RandomSource {
        didSet { resetRandom() }
    }
    /// The tracer's clock in seconds (dynamic set timeouts).
    public private(set) var now: Double = 0

    struct ConnectionKey: Hashable {
        var proto: UInt8
        var source: IPAddress
        var sourcePort: Int
        var destination: IPAddress
        var destinationPort: Int

        init(_ packet: TracedPacket) {
            proto = packet.protocol.rawValue
            source = packet.source
            destination = packet.destination
            sourcePort = packet.protocol.hasPorts ? packet.sourcePort : 0
            destinationPort = packet.protocol.hasPorts ? packet.destinationPort : 0
        }
    }

    struct Connection {
        var dnat: NATBinding?
        var snat: NATBinding?
        var masquerade: [String]?
    }

    struct SetID: Hashable {
        var family: Family
        var table: String
        var set: String
    }

    struct DynamicElement {
        var expires: Double?
        var text: String
    }

    var connections: [ConnectionKey: Connection] = [:]
    var dynamicSets: [SetID: [[Value]: DynamicElement]] = [:]
    var parsedRules: [String: [Statement]] = [:]
    private var randomPosition = 0
    private var randomState: UInt64 = 0

    public init(nft: FakeNFTables, localAddresses: [IPAddress] = [], random: RandomSource = .seeded(1)) {
        self.nft = nft
        self.localAddresses = localAddresses
        self.random = random
        resetRandom()
    }

    // MARK: - Controls

    /// Moves the clock on: dynamic set elements whose timeout passes expire.
    public func advance(seconds: Double) {
        precondition(seconds >= 0, "time runs forward")
        now += seconds
    }

    /// How many connections conntrack holds (each accepted first packet makes one).
    public var connectionCount: Int { connections.count }

    /// Forgets every tracked connection: the next packet of each is a new connection again.
    public func forgetConnections() { connections.removeAll() }

    /// Forgets what packets added to dynamic sets.
    public func forgetDynamicElements() { dynamicSets.removeAll() }

    /// The unexpired elements packets added to a dynamic set, as nft writes their keys.
    public func dynamicElements(family: Family = .inet, table: String, set: String) -> [String] {
        (dynamicSets[SetID(family: family, table: table, set: set)] ?? [:]).values
            .filter { $0.expires.map { $0 > now } ?? true }.map(\.text).sorted()
    }

    /// Parses every rule, base chain priority, set declaration and element of the `ip`, `ip6` and `inet` tables:
    /// throws on the first the tracer cannot interpret (tracing throws only for what a packet reaches).
    public func validate() throws {
        let evaluation = Evaluation(tracer: self, tables: nft.snapshot(), packet: nil)
        for table in evaluation.tables {
            for chain in table.chains.values where chain.isBaseChain {
                _ = try Self.priority(chain, in: table)
            }
            for (chain, rules) in table.rules {
                for rule in rules { _ = try statements(of: rule, in: table, chain: chain) }
            }
            for name in table.sets.keys { _ = try evaluation.set(name, in: table) }
        }
    }

    // MARK: - Tracing

    /// Walks `packet` along `path` through the current ruleset.
    public func trace(_ packet: TracedPacket, path: Path = .incoming(.automatic)) throws -> PacketTrace {
        let evaluation = Evaluation(tracer: self, tables: nft.snapshot(), packet: packet)
        let key = ConnectionKey(packet)
        if let connection = connections[key] {
            evaluation.isNew = false
            evaluation.natDone = [.destination, .source]
            evaluation.connection = connection
            evaluation.step(.conntrack, effects: ["established connection"])
        } else {
            evaluation.step(.conntrack, effects: ["new connection"])
        }
        let fate = try walk(path, evaluation)
        if fate.isAccepted, evaluation.isNew {
            connections[key] = Connection(
                dnat: evaluation.dnat, snat: evaluation.snat, masquerade: evaluation.masquerade)
        }
        return PacketTrace(
            original: packet, packet: evaluation.packet, fate: fate, isNewConnection: evaluation.isNew,
            steps: evaluation.steps, dnat: evaluation.dnat, snat: evaluation.snat, masquerade: evaluation.masquerade,
            marksSet: evaluation.marksSet, setUpdates: evaluation.setUpdates,
            randomNumbers: evaluation.randomNumbers)
    }

    private func walk(_ path: Path, _ evaluation: Evaluation) throws -> PacketTrace.Fate {
        func isLocal(_ routing: Routing) -> Bool {
            switch routing {
            case .deliverLocally: true
            case .forward: false
            case .automatic: localAddresses.contains(evaluation.packet.destination)
            }
        }
        switch path {
        case .incoming(let routing):
            if let fate = try evaluation.runHook(.prerouting) { return fate }
            if isLocal(routing) {
                evaluation.step(.routing, effects: ["local delivery to \(evaluation.packet.destination)"])
                return try evaluation.runHook(.input) ?? .deliveredLocally
            }
            evaluation.step(.routing, effects: ["forward to \(evaluation.packet.destination)"])
            if let fate = try evaluation.runHook(.forward) { return fate }
            return try evaluation.runHook(.postrouting) ?? .forwarded
        case .outgoing:
            if let fate = try evaluation.runHook(.output) { return fate }
            if let fate = try evaluation.runHook(.postrouting) { return fate }
            guard isLocal(.automatic) else { return .sent }
            evaluation.step(.routing, effects: ["loopback to \(evaluation.packet.destination)"])
            if let fate = try evaluation.runHook(.prerouting) { return fate }
            return try evaluation.runHook(.input) ?? .deliveredLocally
        }
    }

    // MARK: - Helpers

    func statements(of rule: Rule, in table: FakeNFTables.TableSnapshot, chain: String) throws -> [Statement] {
        if let parsed = parsedRules[rule.body] { return parsed }
        do {
            var parser = try Parser(rule.body)
            let parsed = try parser.statements()
            parsedRules[rule.body] = parsed
            return parsed
        } catch let error as SyntaxError {
            throw PacketTracerError(error.message, location: Self.location(rule, table: table, chain: chain))
        }
    }

    static func location(_ rule: Rule, table: FakeNFTables.TableSnapshot, chain: String) -> String {
        "\(table.table.family.rawValue) \(table.table.name) chain \(chain)"
            + (rule.handle.map { " handle \($0)" } ?? "") + ": `\(rule.body)`"
    }

    static let priorityNames = [
        "raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100,
    ]

    static func priority(_ chain: Chain, in table: FakeNFTables.TableSnapshot) throws -> Int {
        let text = chain.priority ?? "0"
        let words = text.split(separator: " ")
        let location = "\(table.table.family.rawValue) \(table.table.name) chain \(chain.name)"
        func base(_ word: Substring) throws -> Int {
            if let value = Int(word) ?? priorityNames[String(word)] { return value }
            throw PacketTracerError("unsupported priority '\(text)'", location: location)
        }
        switch words.count {
        case 1: return try base(words[0])
        case 3:
            guard let offset = Int(words[2]), words[1] == "+" || words[1] == "-" else {
                throw PacketTracerError("unsupported priority '\(text)'", location: location)
            }
            return try base(words[0]) + (words[1] == "+" ? offset : -offset)
        default: throw PacketTracerError("unsupported priority '\(text)'", location: location)
        }
    }

    func nextRandom() -> UInt32 {
        switch random {
        case .fixed(let value):
            return value
        case .sequence(let values):
            precondition(!values.isEmpty, "an empty random sequence")
            defer { randomPosition += 1 }
            return values[randomPosition % values.count]
        case .seeded:
            randomState &+= 0x9e37_79b9_7f4a_7c15
            var z = randomState
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return UInt32(truncatingIfNeeded: z ^ (z >> 31))
        }
    }

    private func resetRandom() {
        randomPosition = 0
        if case .seeded(let seed) = random { randomState = seed }
    }
}

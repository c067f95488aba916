import NFTables
import WeftNet

extension PacketTracer {
    /// Which address a NAT binding changes.
    enum Manipulation: Hashable { case source, destination }

    /// How a chain ended: on to the next base chain (`nil` in `run`), or one of these.
    enum Terminal: Hashable {
        case accept
        case drop
        case reject(String)
    }

    /// A set or map with its elements parsed.
    struct ParsedSet {
        struct Entry {
            var key: [Pattern]
            var verdict: Verdict?
            var data: [Value]?
            var text: String
        }

        var set: NFTSet
        var keyFields: [Field]
        /// The data fields of a map that is not a verdict map.
        var dataFields: [Field]?
        var entries: [Entry] = []
        var exact: [[Value]: Int] = [:]
        var intervals: [Int] = []
        var defaultTimeout: Double?

        func lookup(_ key: [Value]) -> Entry? {
            if let index = exact[key] { return entries[index] }
            for index in intervals where zip(entries[index].key, key).allSatisfy({ $0.matches($1) }) {
                return entries[index]
            }
            return nil
        }
    }

    /// One packet's walk: the packet as it is now, the connection's NAT, and the trace so far.
    final class Evaluation {
        let tracer: PacketTracer
        /// The `ip`, `ip6` and `inet` tables that see the packet's family (all of them for `validate`).
        let tables: [FakeNFTables.TableSnapshot]
        var packet: TracedPacket
        var isNew = true
        var connection: Connection? = nil
        var natDone: Set<Manipulation> = []
        var dnat: NATBinding? = nil
        var snat: NATBinding? = nil
        var masquerade: [String]? = nil
        var marksSet: [UInt32] = []
        var setUpdates: [PacketTrace.SetUpdate] = []
        var randomNumbers: [UInt32] = []
        var steps: [PacketTrace.Step] = []
        var parsedSets: [SetID: ParsedSet] = [:]
        /// The base chain being walked.
        var hook: Hook? = nil
        var chainType: ChainType? = nil

        init(tracer: PacketTracer, tables: [FakeNFTables.TableSnapshot], packet: TracedPacket?) {
            self.tracer = tracer
            self.tables = tables.filter { table in
                switch table.table.family {
                case .inet: true
                case .ip: packet.map { $0.family == .v4 } ?? true
                case .ip6: packet.map { $0.family == .v6 } ?? true
                case .arp, .bridge, .netdev: false
                }
            }
            // `validate` has no packet: a placeholder that is never walked.
            self.packet = packet ?? TracedPacket(.tcp, from: "0.0.0.0", to: "0.0.0.0", port: 0)
        }

        func step(
            _ kind: PacketTrace.Step.Kind, table: FakeNFTables.TableSnapshot? = nil, chain: String? = nil,
            rule: Rule? = nil, matched: Bool = false, effects: [String] = [], depth: Int = 0
        ) {
            steps.append(
                PacketTrace.Step(
                    kind: kind, hook: hook, table: table.map { "\($0.table.family.rawValue) \($0.table.name)" },
                    chain: chain, handle: rule?.handle, rule: rule?.body, matched: matched, effects: effects,
                    depth: depth))
        }

        // MARK: Hooks

        /// Runs every base chain of `hook` in priority order; a fate when the packet was dropped or rejected.
        func runHook(_ hook: Hook) throws -> PacketTrace.Fate? {
            self.hook = hook
            defer {
                self.hook = nil
                chainType = nil
            }
            let manipulation: Manipulation? =
                switch hook {
                case .prerouting, .output: .destination
                case .postrouting, .input: .source
                case .forward, .ingress: nil
                }
            enum Item {
                case chain(Chain, FakeNFTables.TableSnapshot)
                case conntrack(Manipulation)
            }
            var items: [(priority: Int, order: Int, name: String, item: Item)] = []
            for table in tables {
                for chain in table.chains.values where chain.hook == hook {
                    let name = "\(table.table.family.rawValue) \(table.table.name) \(chain.name)"
                    items.append((try PacketTracer.priority(chain, in: table), 1, name, .chain(chain, table)))
                }
            }
            // A known connection's NAT is done by conntrack at the NAT hooks' priorities.
            if let connection, let manipulation {
                if manipulation == .destination, connection.dnat != nil {
                    items.append((-100, 0, "", .conntrack(.destination)))
                }
                if manipulation == .source, connection.snat != nil {
                    items.append((100, 0, "", .conntrack(.source)))
                }
            }
            items.sort { ($0.priority, $0.order, $0.name) < ($1.priority, $1.order, $1.name) }
            for entry in items {
                switch entry.item {
                case .conntrack(let manipulation):
                    applyConntrackNAT(manipulation)
                case .chain(let chain, let table):
                    let type = chain.type ?? .filter
                    if type == .nat {
                        guard let manipulation, !natDone.contains(manipulation) else {
                            step(
                                .skipped, table: table, chain: chain.name,
                                effects: [
                                    "nat chain \(chain.name) skipped: "
                                        + (isNew ? "the NAT binding is set up" : "established connection")
                                ])
                            continue
                        }
                    }
                    chainType = type
                    step(.chain, table: table, chain: chain.name, effects: ["priority \(entry.priority)"])
                    let outcome = try run(chain.name, in: table, depth: 0)
                    let result: Terminal
                    if let outcome {
                        result = outcome
                    } else {
                        let policy = chain.policy ?? "accept"
                        guard policy == "accept" || policy == "drop" else {
                            throw PacketTracerError(
                                "unsupported policy '\(policy)'",
                                location: "\(table.table.family.rawValue) \(table.table.name) chain \(chain.name)")
                        }
                        result = policy == "accept" ? .accept : .drop
                        step(.policy, table: table, chain: chain.name, effects: ["policy \(policy)"])
                    }
                    switch result {
                    case .accept: continue
                    case .drop: return .dropped
                    case .reject(let kind): return .rejected(kind)
                    }
                }
            }
            // Without a NAT rule the kernel sets up a null binding: later nat chains of this kind do not run.
            if let manipulation { natDone.insert(manipulation) }
            return nil
        }

        private func applyConntrackNAT(_ manipulation: Manipulation) {
            guard let connection else { return }
            if manipulation == .destination, let binding = connection.dnat {
                packet.destination = binding.address
                packet.destinationPort = binding.port
                dnat = binding
                step(.conntrack, effects: ["dnat to \(binding)"])
            } else if manipulation == .source, let binding = connection.snat {
                packet.source = binding.address
                packet.sourcePort = binding.port
                snat = binding
                masquerade = connection.masquerade
                step(
                    .conntrack, effects: [(connection.masquerade != nil ? "masquerade to " : "snat to ") + "\(binding)"]
                )
            }
        }

        // MARK: Chains

        /// Runs a chain's rules: `nil` when it ended without a final verdict (fell off its end or returned).
        func run(_ name: String, in table: FakeNFTables.TableSnapshot, depth: Int) throws -> Terminal? {
            guard depth < 16 else {
                throw PacketTracerError(
                    "jumps nest deeper than 16 (a loop?)",
                    location: "\(table.table.family.rawValue) \(table.table.name) chain \(name)")
            }
            for rule in table.rules[name] ?? [] {
                let stepIndex = steps.count
                step(.rule, table: table, chain: name, rule: rule, depth: depth)
                let statements = try tracer.statements(of: rule, in: table, chain: name)
                let outcome: RuleOutcome
                do {
                    outcome = try evaluate(statements, in: table, at: stepIndex)
                    if case .noMatch = outcome {} else { steps[stepIndex].matched = true }
                } catch let error as SyntaxError {
                    throw PacketTracerError(error.message, location: location(rule, table, name))
                } catch var error as PacketTracerError where error.location == nil {
                    error.location = location(rule, table, name)
                    throw error
                }
                switch outcome {
                case .noMatch, .next:
                    continue
                case .returned:
                    return nil
                case .terminal(let terminal):
                    return terminal
                case .jump(let target), .goto(let target):
                    guard table.chains[target] != nil else {
                        throw PacketTracerError("no chain \(target)", location: location(rule, table, name))
                    }
                    step(.chain, table: table, chain: target, depth: depth + 1)
                    let result = try run(target, in: table, depth: depth + 1)
                    if let result { return result }
                    if case .goto = outcome { return nil }
                }
            }
            return nil
        }

        private func location(_ rule: Rule, _ table: FakeNFTables.TableSnapshot, _ chain: String) -> String {
            PacketTracer.location(rule, table: table, chain: chain)
        }

        enum RuleOutcome {
            case noMatch, next, returned
            case terminal(Terminal)
            case jump(String)
            case goto(String)
        }

        /// Evaluates a rule's expressions and statements in order; `at` is its step, which collects effects.
        func evaluate(_ statements: [Statement], in table: FakeNFTables.TableSnapshot, at stepIndex: Int) throws
            -> RuleOutcome
        {
            func effect(_ text: String) { steps[stepIndex].effects.append(text) }
            func noMatch(_ why: String? = nil) -> RuleOutcome {
                if let why { effect(why) }
                return .noMatch
            }
            for statement in statements {
                switch statement {
                case .match(let fields, let mask, let op, let target):
                    guard var values = try values(fields) else { return noMatch() }
                    if let mask, case .number(let n) = values[0] { values[0] = .number(n & mask) }
                    var found: Bool
                    switch target {
                    case .literal(let patterns):
                        if op == .implicit, fields.count == 1, fields[0] == .ctState || fields[0] == .ctStatus,
                            case .number(let bits) = values[0], case .exact(.number(let wanted)) = patterns[0]
                        {
                            found = bits & wanted != 0
                        } else {
                            found = zip(patterns, values).allSatisfy { $0.matches($1) }
                        }
                    case .namedSet(let name):
                        let set = try set(name, in: table)
                        try checkKey(fields, against: set)
                        found = lookup(set, in: table, values) != nil
                    case .anonymousSet(let elements):
                        found = elements.contains { zip($0, values).allSatisfy { $0.matches($1) } }
                    }
                    if op == .notEqual { found.toggle() }
                    guard found else { return noMatch() }
                case .verdictMap(let fields, let map):
                    guard let values = try values(fields) else { return noMatch() }
                    let verdict: Verdict?
                    switch map {
                    case .named(let name):
                        let set = try set(name, in: table)
                        guard set.set.isVerdictMap else {
                            throw SyntaxError(message: "vmap @\(name) is not a verdict map")
                        }
                        try checkKey(fields, against: set)
                        verdict = lookup(set, in: table, values)?.verdict
                    case .inline(let entries):
                        verdict = entries.first { zip($0.0, values).allSatisfy { $0.matches($1) } }?.1
                    }
                    guard let verdict else { return noMatch("no element for \(text(values, fields))") }
                    if let outcome = apply(verdict, effect) { return outcome }
                case .setMark(let operation, let operand):
                    let old = UInt64(packet.mark)
                    let new: UInt64 =
                        switch operation {
                        case .set: operand
                        case .or: old | operand
                        case .and: old & operand
                        case .xor: old ^ operand
                        }
                    packet.mark = UInt32(truncatingIfNeeded: new)
                    marksSet.append(packet.mark)
                    effect("mark set 0x" + String(packet.mark, radix: 16))
                case .dnat(let family, let target):
                    guard chainType == .nat, hook == .prerouting || hook == .output else {
                        throw SyntaxError(message: "dnat outside a nat chain of prerouting or output")
                    }
                    if let family, family != packet.family {
                        effect("\(family == .v4 ? "ip" : "ip6") dnat does nothing to this packet")
                        continue
                    }
                    var address = packet.destination
                    var port = packet.destinationPort
                    switch target {
                    case .literal(let newAddress, let newPort):
                        if let newAddress {
                            guard newAddress.family == packet.family else {
                                throw SyntaxError(message: "dnat to \(newAddress) for an \(packet.family) packet")
                            }
                            address = newAddress
                        }
                        if let newPort { port = newPort }
                    case .map(let key, let name):
                        guard let values = try values(key) else { return noMatch() }
                        let set = try set(name, in: table)
                        guard let dataFields = set.dataFields else {
                            throw SyntaxError(message: "dnat map @\(name) is not a data map")
                        }
                        try checkKey(key, against: set)
                        guard let data = lookup(set, in: table, values)?.data else {
                            return noMatch("no element for \(text(values, key)) in @\(name)")
                        }
                        for (field, value) in zip(dataFields, data) {
                            switch (field, value) {
                            case (.address(let f, _), .address(let a)) where f == packet.family: address = a
                            case (.port, .number(let n)): port = Int(n)
                            default: throw SyntaxError(message: "unsupported dnat map data \(field) = \(value)")
                            }
                        }
                    }
                    packet.destination = address
                    if packet.protocol.hasPorts { packet.destinationPort = port }
                    dnat = NATBinding(address: address, port: packet.destinationPort)
                    natDone.insert(.destination)
                    effect("dnat to \(dnat!)")
                    return .terminal(.accept)
                case .snat(let family, let address, let port):
                    try checkSourceNAT("snat")
                    if let family, family != packet.family {
                        effect("\(family == .v4 ? "ip" : "ip6") snat does nothing to this packet")
                        continue
                    }
                    guard address.family == packet.family else {
                        throw SyntaxError(message: "snat to \(address) for an \(packet.family) packet")
                    }
                    packet.source = address
                    if let port, packet.protocol.hasPorts { packet.sourcePort = port }
                    snat = NATBinding(address: address, port: packet.sourcePort)
                    natDone.insert(.source)
                    effect("snat to \(snat!)")
                    return .terminal(.accept)
                case .masquerade(let flags):
                    try checkSourceNAT("masquerade")
                    if let address = tracer.localAddresses.first(where: { $0.family == packet.family }) {
                        packet.source = address
                    }
                    snat = NATBinding(address: packet.source, port: packet.sourcePort)
                    masquerade = flags
                    natDone.insert(.source)
                    effect("masquerade to \(packet.source)" + (flags.isEmpty ? "" : " " + flags.joined(separator: ",")))
                    return .terminal(.accept)
                case .updateSet(let add, let name, let key, let timeout):
                    let set = try set(name, in: table)
                    guard set.set.flags.contains(.dynamic) else {
                        throw SyntaxError(
                            message: "set @\(name) is updated from the packet path but has no dynamic flag")
                    }
                    guard set.dataFields == nil, !set.set.isMap else {
                        throw SyntaxError(message: "unsupported update of map @\(name)")
                    }
                    try checkKey(key, against: set)
                    guard let values = try values(key) else { return noMatch() }
                    if timeout != nil, !set.set.flags.contains(.timeout) {
                        throw SyntaxError(message: "timeout for set @\(name) without the timeout flag")
                    }
                    let id = SetID(family: table.table.family, table: table.table.name, set: name)
                    let existing = tracer.dynamicSets[id]?[values]
                    let alive = existing.map { $0.expires.map { $0 > tracer.now } ?? true } ?? false
                    if add && alive { continue }
                    let lifetime = timeout ?? set.defaultTimeout
                    let expires = lifetime.map { tracer.now + $0 }
                    let keyText = text(values, key)
                    tracer.dynamicSets[id, default: [:]][values] = DynamicElement(expires: expires, text: keyText)
                    let operation = add ? "add" : "update"
                    setUpdates.append(
                        PacketTrace.SetUpdate(
                            table: table.table.name, set: name, key: keyText, operation: operation, expires: expires))
                    effect("\(operation) @\(name) { \(keyText) }" + (lifetime.map { " for \($0)s" } ?? ""))
                case .reject(let kind):
                    guard chainType != .nat else { throw SyntaxError(message: "reject in a nat chain") }
                    effect("reject with \(kind)")
                    return .terminal(.reject(kind))
                case .verdict(let verdict):
                    if let outcome = apply(verdict, effect) { return outcome }
                case .counter:
                    continue
                case .log(let prefix, let group):
                    // Recorded only when it goes to an nflog group (what tools read); plain `log` stays silent.
                    if let group { effect("log to nflog group \(group)" + (prefix.map { " prefix \"\($0)\"" } ?? "")) }
                }
            }
            return .next
        }

        /// A verdict's outcome (nil for `continue`).
        private func apply(_ verdict: Verdict, _ effect: (String) -> Void) -> RuleOutcome? {
            effect(verdict.description)
            switch verdict {
            case .accept: return .terminal(.accept)
            case .drop: return .terminal(.drop)
            case .return: return .returned
            case .continue: return nil
            case .jump(let chain): return .jump(chain)
            case .goto(let chain): return .goto(chain)
            }
        }

        private func checkSourceNAT(_ what: String) throws {
            guard chainType == .nat, hook == .postrouting || hook == .input else {
                throw SyntaxError(message: "\(what) outside a nat chain of postrouting or input")
            }
        }

        private func checkKey(_ fields: [Field], against set: ParsedSet) throws {
            guard fields.count == set.keyFields.count else {
                throw SyntaxError(
                    message:
                        "a key of \(fields.count) fields looked up in @\(set.set.name) of \(set.keyFields.count)")
            }
        }

        // MARK: Values

        /// The values of `fields` for the packet now; nil when one is missing (another family, no ports).
        func values(_ fields: [Field]) throws -> [Value]? {
            var out: [Value] = []
            for field in fields {
                guard let value = value(field) else { return nil }
                out.append(value)
            }
            return out
        }

        private func value(_ field: Field) -> Value? {
            switch field {
            case .address(let family, let source):
                guard packet.family == family else { return nil }
                return .address(source ? packet.source : packet.destination)
            case .l4proto:
                return .number(UInt64(packet.protocol.rawValue))
            case .nfproto:
                return .number(packet.family == .v4 ? 2 : 10)
            case .mark:
                return .number(UInt64(packet.mark))
            case .interface(let input):
                return (input ? packet.inputInterface : packet.outputInterface).map { .text($0) }
            case .port(let source, let proto):
                guard packet.protocol.hasPorts, proto == nil || proto == packet.protocol.rawValue else { return nil }
                return .number(UInt64(source ? packet.sourcePort : packet.destinationPort))
            case .ctState:
                return .number(isNew ? Field.ctStateBits["new"]! : Field.ctStateBits["established"]!)
            case .ctStatus:
                var bits: UInt64 = 0
                if !isNew { bits |= Field.ctStatusBits["confirmed"]! | Field.ctStatusBits["seen-reply"]! }
                if dnat != nil { bits |= Field.ctStatusBits["dnat"]! }
                if snat != nil { bits |= Field.ctStatusBits["snat"]! }
                return .number(bits)
            case .random(let modulus, let offset):
                let drawn = tracer.nextRandom() % modulus + offset
                randomNumbers.append(drawn)
                return .number(UInt64(drawn))
            }
        }

        private func plain(_ value: Value) -> String {
            if case .text(let t) = value { return t }
            return value.description
        }

        private func text(_ values: [Value], _ fields: [Field]) -> String {
            zip(fields, values).map { field, value in
                if field == .l4proto, case .number(let n) = value { return Field.protocolName(UInt8(n)) }
                return plain(value)
            }
            .joined(separator: " . ")
        }

        // MARK: Sets

        /// The parsed set or map `name` of `table` (parsed once per trace).
        func set(_ name: String, in table: FakeNFTables.TableSnapshot) throws -> ParsedSet {
            let id = SetID(family: table.table.family, table: table.table.name, set: name)
            if let parsed = parsedSets[id] { return parsed }
            guard let declaration = table.sets[name] else { throw SyntaxError(message: "no set @\(name)") }
            let where_ = "\(table.table.family.rawValue) \(table.table.name) set \(name)"
            do {
                let keyFields = try PacketTracer.fields(typeOf: declaration.typeOf, type: declaration.type)
                var dataFields: [Field]? = nil
                if let mapType = declaration.mapType, mapType != "verdict" {
                    dataFields =
                        declaration.typeOf != nil
                        ? try PacketTracer.fields(typeOf: mapType, type: nil)
                        : try PacketTracer.fields(typeOf: nil, type: mapType)
                }
                var parsed = ParsedSet(set: declaration, keyFields: keyFields, dataFields: dataFields)
                parsed.defaultTimeout = try declaration.timeout.map(PacketTracer.duration)
                for (key, element) in (table.elements[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    do {
                        var parser = try Parser(key)
                        let patterns = try parser.literalTuple(keyFields)
                        guard parser.atEnd else { throw SyntaxError(message: "trailing text") }
                        var entry = ParsedSet.Entry(key: patterns, text: key)
                        if declaration.isVerdictMap {
                            var valueParser = try Parser(element.value ?? "")
                            guard let verdict = try valueParser.verdict(), valueParser.atEnd else {
                                throw SyntaxError(message: "unsupported verdict '\(element.value ?? "")'")
                            }
                            entry.verdict = verdict
                        } else if let dataFields {
                            var valueParser = try Parser(element.value ?? "")
                            let data = try valueParser.literalTuple(dataFields).map { pattern in
                                guard let value = pattern.exactValue else {
                                    throw SyntaxError(message: "a range or prefix as map data")
                                }
                                return value
                            }
                            guard valueParser.atEnd else { throw SyntaxError(message: "trailing text in data") }
                            entry.data = data
                        }
                        let index = parsed.entries.count
                        parsed.entries.append(entry)
                        if patterns.allSatisfy({ $0.exactValue != nil }) {
                            parsed.exact[patterns.compactMap(\.exactValue)] = index
                        } else {
                            parsed.intervals.append(index)
                        }
                    } catch let error as SyntaxError {
                        throw PacketTracerError(
                            error.message,
                            location: "\(where_) element `\(key)`" + (element.value.map { " : `\($0)`" } ?? ""))
                    }
                }
                parsedSets[id] = parsed
                return parsed
            } catch let error as SyntaxError {
                throw PacketTracerError(error.message, location: where_)
            }
        }

        /// The element matching `key`: the set's own, else one a packet added and that has not expired.
        private func lookup(_ set: ParsedSet, in table: FakeNFTables.TableSnapshot, _ key: [Value]) -> ParsedSet.Entry?
        {
            if let entry = set.lookup(key) { return entry }
            let id = SetID(family: table.table.family, table: table.table.name, set: set.set.name)
            guard let dynamic = tracer.dynamicSets[id]?[key], dynamic.expires.map({ $0 > tracer.now }) ?? true else {
                return nil
            }
            return ParsedSet.Entry(key: key.map { .exact($0) }, text: dynamic.text)
        }
    }
}

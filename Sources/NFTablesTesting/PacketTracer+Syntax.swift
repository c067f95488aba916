import NFTables
import WeftNet

// The subset of nft's rule language the tracer understands, parsed from rule bodies, set declarations and
// element text. Anything outside it throws `PacketTracerError` naming the rule or set.

extension PacketTracer {
    /// A packet or connection field an expression reads.
    enum Field: Hashable, CustomStringConvertible {
        /// `ip saddr`, `ip6 daddr`, … (`source` false for `daddr`); also the data types `ipv4_addr`/`ipv6_addr`.
        case address(IPFamily, source: Bool)
        /// `meta l4proto` (`inet_proto`).
        case l4proto
        /// `meta nfproto`.
        case nfproto
        /// `meta mark` (`mark`).
        case mark
        /// `meta iifname` / `meta oifname` (`ifname`).
        case interface(input: Bool)
        /// `th dport`, `tcp sport`, … (`inet_service`); `protocol` when the header is named.
        case port(source: Bool, protocol: UInt8?)
        /// `ct state`.
        case ctState
        /// `ct status`.
        case ctStatus
        /// `numgen random mod N [offset K]`.
        case random(modulus: UInt32, offset: UInt32)

        var description: String {
            switch self {
            case .address(let family, let source): "\(family == .v4 ? "ip" : "ip6") \(source ? "saddr" : "daddr")"
            case .l4proto: "meta l4proto"
            case .nfproto: "meta nfproto"
            case .mark: "meta mark"
            case .interface(let input): "meta \(input ? "iifname" : "oifname")"
            case .port(let source, let proto):
                "\(proto.map { Self.protocolName($0) } ?? "th") \(source ? "sport" : "dport")"
            case .ctState: "ct state"
            case .ctStatus: "ct status"
            case .random(let modulus, let offset):
                "numgen random mod \(modulus)" + (offset == 0 ? "" : " offset \(offset)")
            }
        }

        static let protocolNumbers: [String: UInt8] = [
            "icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132,
        ]

        static func protocolName(_ number: UInt8) -> String {
            switch number {
            case 1: "icmp"
            case 6: "tcp"
            case 17: "udp"
            case 58: "icmpv6"
            case 132: "sctp"
            default: "\(number)"
            }
        }

        static let ctStateBits: [String: UInt64] = [
            "invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64,
        ]
        static let ctStatusBits: [String: UInt64] = [
            "expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16, "dnat": 32, "dying": 512,
        ]
    }

    /// A value a field has for a packet.
    enum Value: Hashable, CustomStringConvertible {
        case address(IPAddress)
        case number(UInt64)
        case text(String)

        var description: String {
            switch self {
            case .address(let a): a.description
            case .number(let n): "\(n)"
            case .text(let t): "\"\(t)\""
            }
        }
    }

    /// What one component of an element key or a literal matches.
    enum Pattern: Hashable {
        case exact(Value)
        case prefix(IPPrefix)
        case range(Value, Value)

        func matches(_ value: Value) -> Bool {
            switch (self, value) {
            case (.exact(let e), _): return e == value
            case (.prefix(let p), .address(let a)): return p.family == a.family && p.contains(a)
            case (.range(.number(let lo), .number(let hi)), .number(let n)): return lo <= n && n <= hi
            case (.range(.address(let lo), .address(let hi)), .address(let a)):
                return lo.family == a.family && hi.family == a.family && lo.numeric <= a.numeric
                    && a.numeric <= hi.numeric
            default: return false
            }
        }

        var exactValue: Value? {
            if case .exact(let v) = self { return v }
            return nil
        }
    }

    /// A verdict, in a rule or as a verdict map's value.
    enum Verdict: Hashable, CustomStringConvertible {
        case accept, drop, `return`, `continue`
        case jump(String)
        case goto(String)

        var description: String {
            switch self {
            case .accept: "accept"
            case .drop: "drop"
            case .return: "return"
            case .continue: "continue"
            case .jump(let chain): "jump \(chain)"
            case .goto(let chain): "goto \(chain)"
            }
        }
    }

    enum MatchOperator: Hashable { case implicit, equal, notEqual }

    enum MatchTarget: Hashable {
        /// A value (a concatenation has one pattern per field); a flag list (`new,established`) is one number.
        case literal([Pattern])
        case namedSet(String)
        case anonymousSet([[Pattern]])
    }

    enum MapReference: Hashable {
        case named(String)
        case inline([([Pattern], Verdict)])

        static func == (a: Self, b: Self) -> Bool { a.description == b.description }
        func hash(into hasher: inout Hasher) { hasher.combine(description) }
        var description: String {
            switch self {
            case .named(let name): "@\(name)"
            case .inline(let entries): "{\(entries.map { "\($0.0):\($0.1)" }.joined(separator: ","))}"
            }
        }
    }

    enum MarkOperation: Hashable { case set, or, and, xor }

    enum NATTarget: Hashable {
        case literal(address: IPAddress?, port: Int?)
        case map(key: [Field], map: String)
    }

    /// One expression or statement of a rule, in order.
    enum Statement: Hashable {
        case match(fields: [Field], mask: UInt64?, op: MatchOperator, target: MatchTarget)
        case verdictMap(fields: [Field], map: MapReference)
        case setMark(MarkOperation, UInt64)
        case dnat(family: IPFamily?, target: NATTarget)
        case snat(family: IPFamily?, address: IPAddress, port: Int?)
        case masquerade(flags: [String])
        case updateSet(add: Bool, set: String, key: [Field], timeout: Double?)
        case reject(String)
        case verdict(Verdict)
        case counter
        /// `log [prefix "…"] [level L] [group N [snaplen N] [queue-threshold N]]`: logs and goes on; with `group`
        /// to nflog.
        case log(prefix: String?, group: Int?)
    }

    struct SyntaxError: Error {
        var message: String
    }

    // MARK: - Tokens

    /// Splits nft text into words: whitespace separates, `{`, `}` and `,` are words of their own, a double-quoted
    /// string is one word (with its quotes).
    static func tokenize(_ text: String) throws -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        func flush() {
            if !current.isEmpty { tokens.append(current) }
            current = ""
        }
        for character in text {
            if quoted {
                current.append(character)
                if character == "\"" {
                    quoted = false
                    flush()
                }
                continue
            }
            switch character {
            case " ", "\t", "\n":
                flush()
            case "{", "}", ",":
                flush()
                tokens.append(String(character))
            case "\"":
                flush()
                current.append(character)
                quoted = true
            default:
                current.append(character)
            }
        }
        if quoted { throw SyntaxError(message: "unterminated quote") }
        flush()
        return tokens
    }

    // MARK: - Parser

    struct Parser {
        var tokens: [String]
        var index = 0

        init(_ text: String) throws { tokens = try PacketTracer.tokenize(text) }

        var atEnd: Bool { index >= tokens.count }
        func peek(_ offset: Int = 0) -> String? {
            index + offset < tokens.count ? tokens[index + offset] : nil
        }

        mutating func next() throws -> String {
            guard let token = peek() else { throw SyntaxError(message: "unexpected end") }
            index += 1
            return token
        }

        mutating func expect(_ word: String) throws {
            let token = try next()
            guard token == word else { throw SyntaxError(message: "expected '\(word)' but found '\(token)'") }
        }

        mutating func take(_ word: String) -> Bool {
            guard peek() == word else { return false }
            index += 1
            return true
        }

        static let logOptions: Set<String> = ["prefix", "level", "group", "snaplen", "queue-threshold"]
        static let logLevels: Set<String> = [
            "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit",
        ]

        static let selectorStarts: Set<String> = [
            "ip", "ip6", "meta", "th", "tcp", "udp", "sctp", "ct", "numgen", "iifname", "oifname",
        ]

        func atSelector() -> Bool { peek().map { Self.selectorStarts.contains($0) } ?? false }

        /// One selector: `ip daddr`, `meta l4proto`, `th dport`, `ct state`, `numgen random mod 16`, …
        mutating func selector() throws -> Field {
            let word = try next()
            switch word {
            case "ip", "ip6":
                let family: IPFamily = word == "ip" ? .v4 : .v6
                let field = try next()
                switch field {
                case "saddr": return .address(family, source: true)
                case "daddr": return .address(family, source: false)
                default: throw SyntaxError(message: "unsupported expression '\(word) \(field)'")
                }
            case "meta":
                let field = try next()
                switch field {
                case "l4proto": return .l4proto
                case "nfproto": return .nfproto
                case "mark": return .mark
                case "iifname": return .interface(input: true)
                case "oifname": return .interface(input: false)
                default: throw SyntaxError(message: "unsupported expression 'meta \(field)'")
                }
            case "iifname": return .interface(input: true)
            case "oifname": return .interface(input: false)
            case "th", "tcp", "udp", "sctp":
                let field = try next()
                guard field == "sport" || field == "dport" else {
                    throw SyntaxError(message: "unsupported expression '\(word) \(field)'")
                }
                return .port(source: field == "sport", protocol: word == "th" ? nil : Field.protocolNumbers[word])
            case "ct":
                let field = try next()
                switch field {
                case "state": return .ctState
                case "status": return .ctStatus
                default: throw SyntaxError(message: "unsupported expression 'ct \(field)'")
                }
            case "numgen":
                let kind = try next()
                guard kind == "random" else { throw SyntaxError(message: "unsupported expression 'numgen \(kind)'") }
                try expect("mod")
                let modulusText = try next()
                guard let modulus = UInt32(modulusText), modulus > 0 else {
                    throw SyntaxError(message: "bad numgen modulus '\(modulusText)'")
                }
                var offset: UInt32 = 0
                if take("offset") {
                    let text = try next()
                    guard let value = UInt32(text) else { throw SyntaxError(message: "bad numgen offset '\(text)'") }
                    offset = value
                }
                return .random(modulus: modulus, offset: offset)
            default:
                throw SyntaxError(message: "unsupported expression '\(word)'")
            }
        }

        /// Selectors joined by `.`.
        mutating func concatenation() throws -> [Field] {
            var fields = [try selector()]
            while peek() == ".", Self.selectorStarts.contains(peek(1) ?? "") {
                index += 1
                fields.append(try selector())
            }
            return fields
        }

        /// One value for each field, joined by `.` (`10.0.0.1 . tcp . 80`).
        mutating func literalTuple(_ fields: [Field]) throws -> [Pattern] {
            var patterns: [Pattern] = []
            for (position, field) in fields.enumerated() {
                if position > 0 { try expect(".") }
                var pattern = try PacketTracer.literal(try next(), for: field)
                // Flag lists: `ct state new,established`.
                if field == .ctState || field == .ctStatus {
                    while peek() == ",", case .exact(.number(let bits)) = pattern {
                        index += 1
                        guard case .exact(.number(let more)) = try PacketTracer.literal(try next(), for: field) else {
                            throw SyntaxError(message: "bad flag list")
                        }
                        pattern = .exact(.number(bits | more))
                    }
                }
                patterns.append(pattern)
            }
            return patterns
        }

        /// `{ a, b . c, … }` after the opening brace was seen.
        mutating func anonymousSet(_ fields: [Field]) throws -> [[Pattern]] {
            try expect("{")
            var elements: [[Pattern]] = []
            while true {
                elements.append(try literalTuple(fields))
                if take(",") {
                    if take("}") { break }
                    continue
                }
                try expect("}")
                break
            }
            return elements
        }

        mutating func setName() throws -> String {
            let token = try next()
            guard token.hasPrefix("@"), token.count > 1 else {
                throw SyntaxError(message: "expected '@set' but found '\(token)'")
            }
            return String(token.dropFirst())
        }

        mutating func verdict() throws -> Verdict? {
            switch peek() {
            case "accept": index += 1; return .accept
            case "drop": index += 1; return .drop
            case "return": index += 1; return .return
            case "continue": index += 1; return .continue
            case "jump", "goto":
                let word = try next()
                let chain = try next()
                guard NFTText.isValidName(chain) else { throw SyntaxError(message: "bad chain name '\(chain)'") }
                return word == "jump" ? .jump(chain) : .goto(chain)
            default: return nil
            }
        }

        mutating func number() throws -> UInt64 {
            let text = try next()
            guard let value = PacketTracer.number(text) else { throw SyntaxError(message: "bad number '\(text)'") }
            return value
        }

        mutating func statements() throws -> [Statement] {
            var out: [Statement] = []
            while !atEnd { out.append(try statement()) }
            return out
        }

        mutating func statement() throws -> Statement {
            if let verdict = try verdict() { return .verdict(verdict) }
            let word = peek()!
            switch word {
            case "counter":
                index += 1
                if take("packets") {
                    _ = try number()
                    try expect("bytes")
                    _ = try number()
                }
                return .counter
            case "log":
                index += 1
                var prefix: String? = nil
                var group: Int? = nil
                while let option = peek(), Self.logOptions.contains(option) {
                    index += 1
                    let value = try next()
                    switch option {
                    case "prefix":
                        prefix = value.hasPrefix("\"") ? String(value.dropFirst().dropLast()) : value
                    case "group":
                        guard let number = PacketTracer.number(value), number <= UInt64(UInt16.max) else {
                            throw SyntaxError(message: "log group must be a number up to 65535, got '\(value)'")
                        }
                        group = Int(number)
                    case "level":
                        guard Self.logLevels.contains(value) else {
                            throw SyntaxError(message: "unknown log level '\(value)'")
                        }
                    default:
                        guard PacketTracer.number(value) != nil else {
                            throw SyntaxError(message: "log \(option) must be a number, got '\(value)'")
                        }
                    }
                }
                return .log(prefix: prefix, group: group)
            case "reject":
                index += 1
                guard take("with") else { return .reject("icmpx port-unreachable") }
                let kind = try next()
                switch kind {
                case "tcp":
                    try expect("reset")
                    return .reject("tcp reset")
                case "icmp", "icmpv6", "icmpx":
                    if peek() == "type" { index += 1 }
                    return .reject("\(kind) \(try next())")
                default: throw SyntaxError(message: "unsupported reject '\(kind)'")
                }
            case "masquerade":
                index += 1
                var flags: [String] = []
                while let flag = peek(), ["random", "fully-random", "persistent", ","].contains(flag) {
                    index += 1
                    if flag != "," { flags.append(flag) }
                }
                if peek() == "to" { throw SyntaxError(message: "unsupported 'masquerade to'") }
                return .masquerade(flags: flags)
            case "dnat", "snat":
                index += 1
                var family: IPFamily? = nil
                if take("ip") {
                    family = .v4
                } else if take("ip6") {
                    family = .v6
                }
                try expect("to")
                if atSelector() {
                    guard word == "dnat" else { throw SyntaxError(message: "unsupported 'snat to … map'") }
                    let key = try concatenation()
                    try expect("map")
                    guard peek()?.hasPrefix("@") == true else {
                        throw SyntaxError(message: "unsupported dnat map '\(peek() ?? "")' (only named maps)")
                    }
                    return .dnat(family: family, target: .map(key: key, map: try setName()))
                }
                let (address, port) = try PacketTracer.natTarget(try next())
                if let flag = peek(), ["random", "fully-random", "persistent"].contains(flag) {
                    throw SyntaxError(message: "unsupported \(word) flag '\(flag)'")
                }
                if word == "dnat" { return .dnat(family: family, target: .literal(address: address, port: port)) }
                guard let address else { throw SyntaxError(message: "snat without an address") }
                return .snat(family: family, address: address, port: port)
            case "update", "add":
                guard peek(1)?.hasPrefix("@") == true else { break }
                index += 1
                let set = try setName()
                try expect("{")
                let key = try concatenation()
                var timeout: Double? = nil
                if take("timeout") { timeout = try PacketTracer.duration(try next()) }
                try expect("}")
                return .updateSet(add: word == "add", set: set, key: key, timeout: timeout)
            case "meta" where peek(1) == "mark" && peek(2) == "set":
                index += 3
                if take("meta") {
                    try expect("mark")
                    let op = try next()
                    let operation: MarkOperation
                    switch op {
                    case "|": operation = .or
                    case "&": operation = .and
                    case "^": operation = .xor
                    default: throw SyntaxError(message: "unsupported mark operation '\(op)'")
                    }
                    return .setMark(operation, try number())
                }
                return .setMark(.set, try number())
            default:
                break
            }
            guard atSelector() else { throw SyntaxError(message: "unsupported syntax '\(word)'") }
            let fields = try concatenation()
            if take("vmap") {
                if peek()?.hasPrefix("@") == true { return .verdictMap(fields: fields, map: .named(try setName())) }
                try expect("{")
                var entries: [([Pattern], Verdict)] = []
                while true {
                    let key = try literalTuple(fields)
                    try expect(":")
                    guard let verdict = try verdict() else {
                        throw SyntaxError(message: "expected a verdict but found '\(peek() ?? "end")'")
                    }
                    entries.append((key, verdict))
                    if take(",") {
                        if take("}") { break }
                        continue
                    }
                    try expect("}")
                    break
                }
                return .verdictMap(fields: fields, map: .inline(entries))
            }
            var mask: UInt64? = nil
            if take("&") {
                guard fields.count == 1, fields[0] == .mark else {
                    throw SyntaxError(
                        message: "unsupported '&' after \(fields.map(\.description).joined(separator: " . "))")
                }
                mask = try number()
                guard peek() == "==" || peek() == "!=" else {
                    throw SyntaxError(message: "expected '==' or '!=' after a mask")
                }
            }
            var op = MatchOperator.implicit
            if take("==") {
                op = .equal
            } else if take("!=") {
                op = .notEqual
            }
            if op != .implicit, fields.contains(where: { $0 == .ctState || $0 == .ctStatus }) {
                throw SyntaxError(message: "unsupported explicit operator on ct state/status")
            }
            if peek()?.hasPrefix("@") == true {
                return .match(fields: fields, mask: mask, op: op, target: .namedSet(try setName()))
            }
            if peek() == "{" {
                return .match(fields: fields, mask: mask, op: op, target: .anonymousSet(try anonymousSet(fields)))
            }
            return .match(fields: fields, mask: mask, op: op, target: .literal(try literalTuple(fields)))
        }
    }

    // MARK: - Literals

    static func number(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    /// Seconds in nft's duration syntax (`30s`, `1h1m`, `2d`, `500ms`).
    static func duration(_ text: String) throws -> Double {
        var total = 0.0
        var digits = ""
        var rest = Substring(text)
        while let character = rest.first {
            if character.isNumber {
                digits.append(character)
                rest = rest.dropFirst()
                continue
            }
            guard let value = Double(digits) else { throw SyntaxError(message: "bad duration '\(text)'") }
            digits = ""
            if rest.hasPrefix("ms") {
                total += value / 1000
                rest = rest.dropFirst(2)
                continue
            }
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            guard let unit = units[character] else { throw SyntaxError(message: "bad duration '\(text)'") }
            total += value * unit
            rest = rest.dropFirst()
        }
        if !digits.isEmpty { throw SyntaxError(message: "bad duration '\(text)' (no unit)") }
        return total
    }

    /// `10.0.0.1:8080`, `[fd00::1]:8080`, `10.0.0.1`, `fd00::1`, `:8080`.
    static func natTarget(_ text: String) throws -> (IPAddress?, Int?) {
        func port(_ p: Substring) throws -> Int {
            guard let value = Int(p), (0...65535).contains(value) else {
                throw SyntaxError(message: "bad port in '\(text)'")
            }
            return value
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                let address = IPAddress(text[text.index(after: text.startIndex)..<close]), address.isIPv6
            else { throw SyntaxError(message: "bad NAT target '\(text)'") }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (address, nil) }
            guard rest.hasPrefix(":") else { throw SyntaxError(message: "bad NAT target '\(text)'") }
            return (address, try port(rest.dropFirst()))
        }
        if let address = IPAddress(text) { return (address, nil) }
        if text.hasPrefix(":") { return (nil, try port(text.dropFirst())) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, let address = IPAddress(parts[0]), address.isIPv4 {
            return (address, try port(parts[1]))
        }
        throw SyntaxError(message: "unsupported NAT target '\(text)'")
    }

    /// One literal for `field`: an address or prefix, a protocol, a port or port range, a mark, a flag, a name.
    static func literal(_ text: String, for field: Field) throws -> Pattern {
        func bad() -> SyntaxError { SyntaxError(message: "'\(text)' is not a value for \(field)") }
        switch field {
        case .address(let family, _):
            if text.contains("/") {
                guard let prefix = IPPrefix(text), prefix.family == family else { throw bad() }
                return .prefix(prefix.network)
            }
            if let address = IPAddress(text) {
                guard address.family == family else { throw bad() }
                return .exact(.address(address))
            }
            let bounds = text.split(separator: "-")
            if bounds.count == 2, let lo = IPAddress(bounds[0]), let hi = IPAddress(bounds[1]), lo.family == family,
                hi.family == family
            {
                return .range(.address(lo), .address(hi))
            }
            throw bad()
        case .l4proto:
            if let number = Field.protocolNumbers[text] { return .exact(.number(UInt64(number))) }
            guard let number = UInt8(text) else { throw bad() }
            return .exact(.number(UInt64(number)))
        case .nfproto:
            switch text {
            case "ipv4": return .exact(.number(2))
            case "ipv6": return .exact(.number(10))
            default: throw bad()
            }
        case .mark:
            guard let value = number(text), value <= UInt64(UInt32.max) else { throw bad() }
            return .exact(.number(value))
        case .interface:
            var name = text
            if name.hasPrefix("\"") { name = String(name.dropFirst().dropLast()) }
            guard !name.isEmpty, !name.contains("*") else { throw bad() }
            return .exact(.text(name))
        case .port:
            let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
            let values = bounds.compactMap { UInt16($0) }
            guard values.count == bounds.count else { throw bad() }
            if values.count == 1 { return .exact(.number(UInt64(values[0]))) }
            guard values.count == 2, values[0] <= values[1] else { throw bad() }
            return .range(.number(UInt64(values[0])), .number(UInt64(values[1])))
        case .ctState:
            guard let bits = Field.ctStateBits[text] else { throw bad() }
            return .exact(.number(bits))
        case .ctStatus:
            guard let bits = Field.ctStatusBits[text] else { throw bad() }
            return .exact(.number(bits))
        case .random:
            let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
            let values = bounds.compactMap { UInt32($0) }
            guard values.count == bounds.count else { throw bad() }
            if values.count == 1 { return .exact(.number(UInt64(values[0]))) }
            guard values.count == 2, values[0] <= values[1] else { throw bad() }
            return .range(.number(UInt64(values[0])), .number(UInt64(values[1])))
        }
    }

    /// The fields of a set's key or a map's data: from `typeof` expressions or from data type names.
    static func fields(typeOf: String?, type: String?) throws -> [Field] {
        if let typeOf {
            var parser = try Parser(typeOf)
            let fields = try parser.concatenation()
            guard parser.atEnd else { throw SyntaxError(message: "unsupported typeof '\(typeOf)'") }
            return fields
        }
        guard let type else { throw SyntaxError(message: "a set without a type") }
        return try type.split(separator: " . ").map { name in
            switch name.trimmingCharacters(in: " ") {
            case "ipv4_addr": return .address(.v4, source: false)
            case "ipv6_addr": return .address(.v6, source: false)
            case "inet_proto": return .l4proto
            case "inet_service": return .port(source: false, protocol: nil)
            case "mark": return .mark
            case "ifname": return .interface(input: true)
            default: throw SyntaxError(message: "unsupported data type '\(name)'")
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var s = self
        while s.first == character { s = s.dropFirst() }
        while s.last == character { s = s.dropLast() }
        return s
    }
}

import NFTables
import Synchronization

/// An in-memory nftables for tests: applies transactions all-or-nothing with the kernel's rules for what exists,
/// assigns rule handles, lists like a real backend and dumps its whole state as canonical text.
///
/// What it checks, as the kernel does: `create` of an existing table, chain, set or element; `delete` or `flush`
/// of a missing object; a chain, set or rule in a missing table or chain; a rule naming a missing set (`@name`)
/// or jumping to a missing chain; an element in a missing set, with a value in a set or without one in a map, or
/// whose verdict jumps to a missing chain; `add` of an existing key with another value; deleting a chain that
/// is jumped to (its rules go with it), or a set that a rule uses. Rule bodies and element keys are kept as
/// written (it does not normalize them as nft does).
public final class FakeNFTables: NFTablesBackend {
    private let state = Mutex(State())

    public init() {}

    // MARK: - State

    struct TableKey: Hashable, Comparable {
        var family: Family
        var name: String
        static func < (a: TableKey, b: TableKey) -> Bool {
            (a.family.rawValue, a.name) < (b.family.rawValue, b.name)
        }
    }

    struct TableState {
        var table: Table
        var chains: [String: ChainState] = [:]
        var sets: [String: SetState] = [:]
        /// The kernel numbers chains, sets and rules of a table from one counter.
        var nextHandle = 1

        mutating func takeHandle() -> Int {
            defer { nextHandle += 1 }
            return nextHandle
        }
    }

    struct ChainState {
        var chain: Chain
        var rules: [Rule] = []
    }

    struct SetState {
        var set: NFTSet
        var elements: [String: Element] = [:]
    }

    struct State {
        var tables: [TableKey: TableState] = [:]
        var applyCount = 0
        var injectedFailure: NFTablesError? = nil
    }

    // MARK: - Test controls

    /// How many transactions were applied successfully.
    public var applyCount: Int { state.withLock { $0.applyCount } }

    /// Makes the next `apply` throw `error` (and change nothing).
    public func failNextApply(with error: NFTablesError) {
        state.withLock { $0.injectedFailure = error }
    }

    /// Forgets everything.
    public func reset() {
        state.withLock { $0 = State() }
    }

    // MARK: - NFTablesBackend

    public func apply(_ tx: Transaction) throws {
        try tx.validate()
        try state.withLock { state in
            if let failure = state.injectedFailure {
                state.injectedFailure = nil
                throw failure
            }
            var working = state.tables
            for (index, operation) in tx.operations.enumerated() {
                do {
                    try Self.apply(operation, to: &working)
                } catch let failure as Failure {
                    throw NFTablesError(
                        code: failure.code, operation: "apply", message: failure.message, line: index + 1,
                        lineText: operation.render())
                }
            }
            state.tables = working
            state.applyCount += 1
        }
    }

    /// As the kernel's netlink batch: all or nothing (it counts as one applied transaction).
    public func replaceElements(of sets: [NFTSet], with elements: [Element]) throws {
        for element in elements
        where !sets.contains(where: { $0.name == element.set && $0.table == element.table }) {
            throw NFTablesError(
                code: .invalidTransaction, operation: "replace elements",
                message: "element \(element.key) of \(element.set) is not in a set being replaced")
        }
        try apply(Transaction.replacingElements(of: sets, with: elements))
    }

    public func tableInfo(family: Family, table: String) throws -> NFTTableInfo? {
        state.withLock { state in
            state.tables[TableKey(family: family, name: table)].map {
                NFTTableInfo(
                    comment: $0.table.comment, chains: Set($0.chains.keys), sets: Set($0.sets.keys),
                    maps: Set($0.sets.filter { $0.value.set.isMap }.keys))
            }
        }
    }

    public func listTableNames(family: Family?) throws -> [(family: Family, name: String)] {
        state.withLock { state in
            state.tables.keys.sorted().filter { family == nil || $0.family == family }.map { ($0.family, $0.name) }
        }
    }

    public func listRules(family: Family, table: String, chain: String) throws -> [Rule] {
        try state.withLock { state in
            guard let chainState = state.tables[TableKey(family: family, name: table)]?.chains[chain] else {
                throw NFTablesError(
                    code: .notFound, operation: "list chain \(family.rawValue) \(table) \(chain)",
                    message: "No such file or directory")
            }
            return chainState.rules
        }
    }

    public func listElements(family: Family, table: String, set: String) throws -> [Element] {
        try state.withLock { state in
            guard let setState = state.tables[TableKey(family: family, name: table)]?.sets[set] else {
                throw NFTablesError(
                    code: .notFound, operation: "list set \(family.rawValue) \(table) \(set)",
                    message: "No such file or directory")
            }
            return setState.elements.keys.sorted().map { setState.elements[$0]! }
        }
    }

    public func listTable(family: Family, table: String) throws -> String? {
        state.withLock { state in
            state.tables[TableKey(family: family, name: table)].map { Self.dump($0).render() }
        }
    }

    // MARK: - Reading the state

    /// One table's chains, rules, sets and elements as stored (what `PacketTracer` walks).
    public struct TableSnapshot: Sendable {
        public var table: Table
        /// Chains by name.
        public var chains: [String: Chain]
        /// Each chain's rules in order, with their handles.
        public var rules: [String: [Rule]]
        /// Sets and maps by name.
        public var sets: [String: NFTSet]
        /// Each set's elements by key.
        public var elements: [String: [String: Element]]
    }

    /// Every table as stored, by family and name.
    public func snapshot() -> [TableSnapshot] {
        state.withLock { state in
            state.tables.keys.sorted().map { key in
                let table = state.tables[key]!
                return TableSnapshot(
                    table: table.table, chains: table.chains.mapValues(\.chain), rules: table.chains.mapValues(\.rules),
                    sets: table.sets.mapValues(\.set), elements: table.sets.mapValues(\.elements))
            }
        }
    }

    // MARK: - Dump

    /// Everything as nft commands that would recreate it, in canonical order: tables by family and name; in each,
    /// the table, its chains by name, its sets by name, the rules of each chain in order, the elements of each
    /// set by key. The same state always gives the same text.
    public func dump() -> String {
        state.withLock { state in
            state.tables.keys.sorted().map { Self.dump(state.tables[$0]!).render() }.joined()
        }
    }

    /// The canonical dump as a transaction (e.g. to load the same state into another backend).
    public func dumpTransaction() -> Transaction {
        state.withLock { state in
            var tx = Transaction()
            for key in state.tables.keys.sorted() { tx.append(contentsOf: Self.dump(state.tables[key]!)) }
            return tx
        }
    }

    private static func dump(_ table: TableState) -> Transaction {
        var tx = Transaction()
        tx.add(table.table)
        let chainNames = table.chains.keys.sorted()
        let setNames = table.sets.keys.sorted()
        for name in chainNames { tx.add(table.chains[name]!.chain) }
        for name in setNames { tx.add(table.sets[name]!.set) }
        for name in chainNames {
            for var rule in table.chains[name]!.rules {
                rule.handle = nil
                tx.add(rule)
            }
        }
        for name in setNames {
            let elements = table.sets[name]!.elements
            for key in elements.keys.sorted() { tx.add(elements[key]!) }
        }
        return tx
    }

    // MARK: - Applying one operation

    private struct Failure: Error {
        var code: NFTablesError.Code
        var message: String
    }

    private static func notFound(_ what: String) -> Failure {
        Failure(code: .notFound, message: "No such file or directory: \(what)")
    }

    private static func exists(_ what: String) -> Failure {
        Failure(code: .exists, message: "File exists: \(what)")
    }

    private static func busy(_ what: String) -> Failure {
        Failure(code: .busy, message: "Device or resource busy: \(what)")
    }

    private static func apply(_ operation: Transaction.Operation, to tables: inout [TableKey: TableState]) throws {
        let object = operation.object
        let key = TableKey(family: object.family, name: object.tableName)
        let tableLabel = "table \(key.family.rawValue) \(key.name)"

        if case .table(let table) = object {
            switch operation.verb {
            case .add:
                if tables[key] == nil { tables[key] = TableState(table: stored(table)) }
            case .create:
                if tables[key] != nil { throw exists(tableLabel) }
                tables[key] = TableState(table: stored(table))
            case .delete:
                if tables.removeValue(forKey: key) == nil { throw notFound(tableLabel) }
            case .flush:
                guard var state = tables[key] else { throw notFound(tableLabel) }
                for name in state.chains.keys { state.chains[name]!.rules.removeAll() }
                tables[key] = state
            case .insert, .replace:
                throw Failure(code: .invalidTransaction, message: "\(operation.verb.rawValue) of a table")
            }
            return
        }

        guard var table = tables[key] else { throw notFound(tableLabel) }
        switch object {
        case .table:
            break
        case .chain(let chain):
            try apply(operation.verb, chain, in: &table)
        case .set(let set):
            try apply(operation.verb, set, in: &table)
        case .rule(let rule):
            try apply(operation.verb, rule, in: &table)
        case .element(let element):
            try apply(operation.verb, element, in: &table)
        }
        tables[key] = table
    }

    private static func apply(_ verb: Transaction.Verb, _ chain: Chain, in table: inout TableState) throws {
        let label = "chain \(chain.name)"
        switch verb {
        case .add, .create:
            if table.chains[chain.name] != nil {
                if verb == .create { throw exists(label) }
                return
            }
            _ = table.takeHandle()
            table.chains[chain.name] = ChainState(chain: stored(chain))
        case .delete:
            // The kernel deletes a chain's rules with it, but not a chain that is jumped to.
            guard table.chains[chain.name] != nil else { throw notFound(label) }
            if isJumpedTo(chain.name, in: table) { throw busy("\(label) is jumped to") }
            table.chains[chain.name] = nil
        case .flush:
            guard table.chains[chain.name] != nil else { throw notFound(label) }
            table.chains[chain.name]!.rules.removeAll()
        case .insert, .replace:
            throw Failure(code: .invalidTransaction, message: "\(verb.rawValue) of a chain")
        }
    }

    private static func apply(_ verb: Transaction.Verb, _ set: NFTSet, in table: inout TableState) throws {
        let label = "\(set.isMap ? "map" : "set") \(set.name)"
        switch verb {
        case .add, .create:
            if table.sets[set.name] != nil {
                if verb == .create { throw exists(label) }
                return
            }
            _ = table.takeHandle()
            table.sets[set.name] = SetState(set: stored(set))
        case .delete:
            guard table.sets[set.name] != nil else { throw notFound(label) }
            if isUsed(set: set.name, in: table) { throw busy("\(label) is used by a rule") }
            table.sets[set.name] = nil
        case .flush:
            // nft 1.0.6 looks a map up only with `flush map` and a set only with `flush set`.
            guard let existing = table.sets[set.name], existing.set.isMap == set.isMap else { throw notFound(label) }
            table.sets[set.name]!.elements.removeAll()
        case .insert, .replace:
            throw Failure(code: .invalidTransaction, message: "\(verb.rawValue) of a set")
        }
    }

    private static func apply(_ verb: Transaction.Verb, _ rule: Rule, in table: inout TableState) throws {
        let label = "chain \(rule.chain)"
        guard var chain = table.chains[rule.chain] else { throw notFound(label) }
        let position: Int?
        if let handle = rule.handle {
            guard let index = chain.rules.firstIndex(where: { $0.handle == handle }) else {
                throw notFound("rule handle \(handle) in \(label)")
            }
            position = index
        } else {
            position = nil
        }
        if verb != .delete { try checkReferences(ofBody: rule.body, in: table) }
        var stored = rule
        stored.comment = rule.comment.map(NFTText.sanitizeComment)
        switch verb {
        case .add:
            stored.handle = table.takeHandle()
            chain.rules.insert(stored, at: position.map { $0 + 1 } ?? chain.rules.endIndex)
        case .insert:
            stored.handle = table.takeHandle()
            chain.rules.insert(stored, at: position ?? 0)
        case .replace:
            chain.rules[position!] = stored
        case .delete:
            chain.rules.remove(at: position!)
        case .create, .flush:
            throw Failure(code: .invalidTransaction, message: "\(verb.rawValue) of a rule")
        }
        table.chains[rule.chain] = chain
    }

    private static func apply(_ verb: Transaction.Verb, _ element: Element, in table: inout TableState) throws {
        let label = "set \(element.set)"
        guard let set = table.sets[element.set] else { throw notFound(label) }
        let existing = set.elements[element.key]
        switch verb {
        case .add, .create:
            if set.set.isMap && element.value == nil {
                throw Failure(
                    code: .commandFailed, message: "element \(element.key) of map \(element.set) has no value")
            }
            if !set.set.isMap && element.value != nil {
                throw Failure(code: .commandFailed, message: "element \(element.key) of set \(element.set) has a value")
            }
            if element.timeout != nil && !set.set.flags.contains(.timeout) {
                throw Failure(code: .commandFailed, message: "\(label) has no timeout flag")
            }
            if let value = element.value { try checkReferences(ofBody: value, in: table) }
            if let existing {
                if verb == .create || existing.value != element.value { throw exists("element \(element.key)") }
                return
            }
            var stored = element
            stored.comment = element.comment.map(NFTText.sanitizeComment)
            table.sets[element.set]!.elements[element.key] = stored
        case .delete:
            if existing == nil { throw notFound("element \(element.key) in \(label)") }
            table.sets[element.set]!.elements[element.key] = nil
        case .insert, .replace, .flush:
            throw Failure(code: .invalidTransaction, message: "\(verb.rawValue) of an element")
        }
    }

    // MARK: - References

    private static func stored(_ table: Table) -> Table {
        var copy = table
        copy.comment = table.comment.map(NFTText.sanitizeComment)
        return copy
    }

    private static func stored(_ chain: Chain) -> Chain {
        var copy = chain
        copy.comment = chain.comment.map(NFTText.sanitizeComment)
        return copy
    }

    private static func stored(_ set: NFTSet) -> NFTSet {
        var copy = set
        copy.comment = set.comment.map(NFTText.sanitizeComment)
        return copy
    }

    /// The words of a rule body or map value outside quoted strings, without list punctuation.
    static func words(_ text: String) -> [Substring] {
        var words: [Substring] = []
        var quoted = false
        var start: String.Index? = nil
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let separates =
                character == " " || character == "," || character == "{" || character == "}"
                || character == "\t" || character == "\""
            if character == "\"" { quoted.toggle() }
            if separates || quoted {
                if let s = start { words.append(text[s..<index]) }
                start = nil
            } else if start == nil {
                start = index
            }
            index = text.index(after: index)
        }
        if let s = start { words.append(text[s...]) }
        return words
    }

    /// Chains named after `jump`/`goto` and sets named as `@set` in `text`.
    static func references(in text: String) -> (chains: [String], sets: [String]) {
        let words = words(text)
        var chains: [String] = []
        var sets: [String] = []
        for (index, word) in words.enumerated() {
            if word == "jump" || word == "goto", index + 1 < words.count {
                chains.append(String(words[index + 1]))
            } else if word.hasPrefix("@") {
                sets.append(String(word.dropFirst()))
            }
        }
        return (chains, sets)
    }

    private static func checkReferences(ofBody body: String, in table: TableState) throws {
        let (chains, sets) = references(in: body)
        for chain in chains where table.chains[chain] == nil { throw notFound("chain \(chain)") }
        for set in sets where table.sets[set] == nil { throw notFound("set \(set)") }
    }

    private static func isJumpedTo(_ chain: String, in table: TableState) -> Bool {
        for other in table.chains.values {
            for rule in other.rules where references(in: rule.body).chains.contains(chain) { return true }
        }
        for set in table.sets.values where set.set.isVerdictMap {
            for element in set.elements.values {
                if let value = element.value, references(in: value).chains.contains(chain) { return true }
            }
        }
        return false
    }

    private static func isUsed(set: String, in table: TableState) -> Bool {
        table.chains.values.contains { chain in
            chain.rules.contains { references(in: $0.body).sets.contains(set) }
        }
    }
}

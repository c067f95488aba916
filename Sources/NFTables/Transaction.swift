/// An ordered list of nftables operations that is applied atomically: all of them or none.
///
/// Build it with `add`, `create`, `insert`, `replace`, `delete` and `flush`, then hand it to a backend's `apply`.
/// `render()` gives the text `nft -f` reads, one command per line, so that an error's line number points at the
/// operation that failed (`operations[line - 1]`).
public struct Transaction: Sendable, Hashable {
    /// What an operation does to its object.
    public enum Verb: String, Sendable, Hashable, CaseIterable {
        /// Creates the object, or does nothing when it exists (rules are always appended).
        case add
        /// Creates the object; fails when it exists.
        case create
        /// Inserts a rule at the start of its chain, or before the rule with its `handle`.
        case insert
        /// Replaces the rule with the same `handle`.
        case replace
        /// Deletes the object (a rule by handle, an element by key); fails when it is missing.
        case delete
        /// Empties a table or chain of rules, or a set of elements; fails when it is missing.
        case flush
    }

    /// An object an operation acts on.
    public enum Object: Sendable, Hashable {
        case table(Table)
        case chain(Chain)
        case set(NFTSet)
        case rule(Rule)
        case element(Element)

        /// The object's family.
        public var family: Family {
            switch self {
            case .table(let t): t.family
            case .chain(let c): c.family
            case .set(let s): s.family
            case .rule(let r): r.family
            case .element(let e): e.family
            }
        }

        /// The name of the table the object is in (or is).
        public var tableName: String {
            switch self {
            case .table(let t): t.name
            case .chain(let c): c.table
            case .set(let s): s.table
            case .rule(let r): r.table
            case .element(let e): e.table
            }
        }
    }

    /// One operation of a transaction.
    public struct Operation: Sendable, Hashable {
        public var verb: Verb
        public var object: Object

        public init(_ verb: Verb, _ object: Object) {
            self.verb = verb
            self.object = object
        }
    }

    /// The operations in the order they are applied.
    public private(set) var operations: [Operation] = []

    public init() {}

    /// True when the transaction has no operations.
    public var isEmpty: Bool { operations.isEmpty }
    /// The number of operations.
    public var count: Int { operations.count }

    /// Appends an operation as it is (use the typed methods unless you hold an `Operation` already).
    public mutating func append(_ operation: Operation) { operations.append(operation) }
    /// Appends the operations of another transaction.
    public mutating func append(contentsOf other: Transaction) { operations.append(contentsOf: other.operations) }

    // MARK: add

    /// Creates the table unless it exists.
    public mutating func add(_ table: Table) { operations.append(Operation(.add, .table(table))) }
    /// Creates the chain unless it exists.
    public mutating func add(_ chain: Chain) { operations.append(Operation(.add, .chain(chain))) }
    /// Creates the set or map unless it exists.
    public mutating func add(_ set: NFTSet) { operations.append(Operation(.add, .set(set))) }
    /// Appends the rule to its chain, or adds it after the rule with its `handle`.
    public mutating func add(_ rule: Rule) { operations.append(Operation(.add, .rule(rule))) }
    /// Adds the element unless an identical one exists (an existing key with another value is an error).
    public mutating func add(_ element: Element) { operations.append(Operation(.add, .element(element))) }

    // MARK: create

    /// Creates the table; the transaction fails when it exists.
    public mutating func create(_ table: Table) { operations.append(Operation(.create, .table(table))) }
    /// Creates the chain; the transaction fails when it exists.
    public mutating func create(_ chain: Chain) { operations.append(Operation(.create, .chain(chain))) }
    /// Creates the set or map; the transaction fails when it exists.
    public mutating func create(_ set: NFTSet) { operations.append(Operation(.create, .set(set))) }
    /// Adds the element; the transaction fails when its key exists.
    public mutating func create(_ element: Element) { operations.append(Operation(.create, .element(element))) }

    // MARK: insert, replace

    /// Inserts the rule at the start of its chain, or before the rule with its `handle`.
    public mutating func insert(_ rule: Rule) { operations.append(Operation(.insert, .rule(rule))) }
    /// Replaces the rule with the same `handle` (which must be set).
    public mutating func replace(_ rule: Rule) { operations.append(Operation(.replace, .rule(rule))) }

    // MARK: delete

    /// Deletes the table and everything in it; the transaction fails when it is missing.
    public mutating func delete(_ table: Table) { operations.append(Operation(.delete, .table(table))) }
    /// Deletes the chain and its rules; it must not be jumped to. The transaction fails when it is missing.
    public mutating func delete(_ chain: Chain) { operations.append(Operation(.delete, .chain(chain))) }
    /// Deletes the set or map, which must not be used by a rule; the transaction fails when it is missing.
    public mutating func delete(_ set: NFTSet) { operations.append(Operation(.delete, .set(set))) }
    /// Deletes the rule with the rule's `handle` (which must be set).
    public mutating func delete(_ rule: Rule) { operations.append(Operation(.delete, .rule(rule))) }
    /// Deletes the element with the element's key; the transaction fails when it is missing.
    public mutating func delete(_ element: Element) { operations.append(Operation(.delete, .element(element))) }

    /// The text form of `NFTablesBackend.replaceElements`: each set flushed, then every element added.
    public static func replacingElements(of sets: [NFTSet], with elements: [Element]) -> Transaction {
        var tx = Transaction()
        for set in sets { tx.flush(set) }
        for element in elements { tx.add(element) }
        return tx
    }

    // MARK: flush

    /// Deletes every rule of every chain in the table (sets and their elements stay).
    public mutating func flush(_ table: Table) { operations.append(Operation(.flush, .table(table))) }
    /// Deletes every rule of the chain.
    public mutating func flush(_ chain: Chain) { operations.append(Operation(.flush, .chain(chain))) }
    /// Deletes every element of the set or map (`mapType` must say which it is).
    public mutating func flush(_ set: NFTSet) { operations.append(Operation(.flush, .set(set))) }

    // MARK: convenience

    /// Deletes the table if it exists: adds it (a no-op when it exists) and deletes it, which nft 1.0.6 (without
    /// `destroy`) needs to succeed either way.
    public mutating func deleteIfExists(_ table: Table) {
        add(Table(family: table.family, name: table.name))
        delete(table)
    }

    // MARK: rendering

    /// The transaction as `render()` gives it, but with each run of element operations of the same verb on the
    /// same set in one command (`add element … { a, b, … }`, at most `groupSize` per line): nft parses that
    /// about a third faster than one command per element, which counts for a transaction of 100,000 elements.
    /// `operationOfLine[i]` is the index of the first operation on line `i + 1`, to find what an error's line
    /// number names.
    public func renderGrouped(groupSize: Int = 1000) -> (text: String, operationOfLine: [Int]) {
        var text = ""
        var operationOfLine: [Int] = []
        var index = 0
        while index < operations.count {
            let operation = operations[index]
            operationOfLine.append(index)
            guard case .element(let first) = operation.object, operation.verb == .add || operation.verb == .delete
            else {
                text += operation.render() + "\n"
                index += 1
                continue
            }
            var items: [String] = []
            while index < operations.count, items.count < groupSize,
                case .element(let element) = operations[index].object, operations[index].verb == operation.verb,
                element.family == first.family, element.table == first.table, element.set == first.set
            {
                items.append(operations[index].elementItem(element))
                index += 1
            }
            text += "\(operation.verb) element \(first.family.rawValue) \(first.table) \(first.set) { "
            text += items.joined(separator: ", ") + " }\n"
        }
        return (text, operationOfLine)
    }

    /// The transaction in nft's text syntax, one command per line, each line ended by a newline.
    public func render() -> String {
        var text = ""
        for operation in operations {
            text += operation.render()
            text += "\n"
        }
        return text
    }

    /// Checks what can be checked without the kernel: names, comment lengths, rule handles, the shape of chains
    /// and sets, and that no text fragment could end its command early (a newline, or `;` outside quotes).
    /// Backends call this before applying.
    /// - Throws: `NFTablesError` with code `.invalidTransaction`, the line of the first bad operation and why.
    public func validate() throws {
        for (index, operation) in operations.enumerated() {
            if let problem = operation.problem() {
                throw NFTablesError(
                    code: .invalidTransaction, operation: "apply", message: problem, line: index + 1,
                    lineText: operation.render())
            }
        }
    }
}

extension Transaction.Operation {
    /// The operation as one nft command (without a newline).
    public func render() -> String {
        let verb = self.verb.rawValue
        switch object {
        case .table(let table):
            var line = "\(verb) table \(table.family.rawValue) \(table.name)"
            if verb == "add" || verb == "create", let comment = table.comment {
                line += " { comment \(NFTText.quote(comment)) ; }"
            }
            return line

        case .chain(let chain):
            var line = "\(verb) chain \(chain.family.rawValue) \(chain.table) \(chain.name)"
            guard self.verb == .add || self.verb == .create else { return line }
            var spec = ""
            if let hook = chain.hook {
                spec += " type \(chain.type?.rawValue ?? "filter") hook \(hook.rawValue)"
                if let device = chain.device { spec += " device \(NFTText.quote(device))" }
                spec += " priority \(chain.priority ?? "0") ;"
                if let policy = chain.policy { spec += " policy \(policy) ;" }
            }
            if let comment = chain.comment { spec += " comment \(NFTText.quote(comment)) ;" }
            if !spec.isEmpty { line += " {\(spec) }" }
            return line

        case .set(let set):
            let kind = set.isMap ? "map" : "set"
            let line = "\(verb) \(kind) \(set.family.rawValue) \(set.table) \(set.name)"
            guard self.verb == .add || self.verb == .create else { return line }
            var spec = ""
            if let typeOf = set.typeOf {
                spec += " typeof \(typeOf)"
            } else {
                spec += " type \(set.type ?? "")"
            }
            if let mapType = set.mapType { spec += " : \(mapType)" }
            spec += " ;"
            if !set.flags.isEmpty { spec += " flags \(set.flags.sorted().map(\.rawValue).joined(separator: ",")) ;" }
            if let timeout = set.timeout { spec += " timeout \(timeout) ;" }
            if let comment = set.comment { spec += " comment \(NFTText.quote(comment)) ;" }
            return line + " {\(spec) }"

        case .rule(let rule):
            var line = "\(verb) rule \(rule.family.rawValue) \(rule.table) \(rule.chain)"
            if let handle = rule.handle { line += " handle \(handle)" }
            if self.verb == .delete { return line }
            line += " \(rule.body)"
            if let comment = rule.comment { line += " comment \(NFTText.quote(comment))" }
            return line

        case .element(let element):
            let item = elementItem(element)
            return "\(verb) element \(element.family.rawValue) \(element.table) \(element.set) { \(item) }"
        }
    }

    /// An element as it stands between the braces: its key, and unless deleted its timeout, comment and value.
    func elementItem(_ element: Element) -> String {
        var item = element.key
        if verb != .delete {
            if let timeout = element.timeout { item += " timeout \(timeout)" }
            if let comment = element.comment { item += " comment \(NFTText.quote(comment))" }
            if let value = element.value { item += " : \(value)" }
        }
        return item
    }

    /// Why the operation cannot be applied, or `nil`.
    func problem() -> String? {
        switch (verb, object) {
        case (.insert, .table), (.insert, .chain), (.insert, .set), (.insert, .element),
            (.replace, .table), (.replace, .chain), (.replace, .set), (.replace, .element):
            return "\(verb.rawValue) applies only to rules"
        case (.create, .rule):
            return "a rule cannot be created exclusively; use add"
        case (.flush, .rule), (.flush, .element):
            return "flush applies only to tables, chains and sets"
        default:
            break
        }
        if let problem = NFTText.nameProblem(object.tableName, what: "table") { return problem }
        switch object {
        case .table(let table):
            return NFTText.commentProblem(table.comment)

        case .chain(let chain):
            if let problem = NFTText.nameProblem(chain.name, what: "chain") { return problem }
            if let problem = NFTText.commentProblem(chain.comment) { return problem }
            guard verb == .add || verb == .create else { return nil }
            if chain.hook == nil {
                if chain.type != nil || chain.priority != nil || chain.policy != nil || chain.device != nil {
                    return "chain \(chain.name) has a type, priority, policy or device but no hook"
                }
                return nil
            }
            if chain.type == nil { return "base chain \(chain.name) needs a type" }
            if chain.priority == nil { return "base chain \(chain.name) needs a priority" }
            if let problem = NFTText.fragmentProblem(chain.priority, what: "priority") { return problem }
            if let problem = NFTText.fragmentProblem(chain.policy, what: "policy") { return problem }
            if let device = chain.device, device.isEmpty || device.contains("\"") || device.utf8.count > 15 {
                return "bad device name \(device)"
            }
            return nil

        case .set(let set):
            if let problem = NFTText.nameProblem(set.name, what: "set") { return problem }
            if let problem = NFTText.commentProblem(set.comment) { return problem }
            guard verb == .add || verb == .create else { return nil }
            if (set.type == nil) == (set.typeOf == nil) {
                return "set \(set.name) needs exactly one of type and typeof"
            }
            for (fragment, what) in [
                (set.type, "type"), (set.typeOf, "typeof"), (set.mapType, "map type"),
                (set.timeout, "timeout"),
            ] {
                if let problem = NFTText.fragmentProblem(fragment, what: what) { return problem }
            }
            return nil

        case .rule(let rule):
            if let problem = NFTText.nameProblem(rule.chain, what: "chain") { return problem }
            if (verb == .delete || verb == .replace) && rule.handle == nil {
                return "\(verb.rawValue) of a rule needs its handle"
            }
            if verb == .delete { return nil }
            if rule.body.trimmingWhitespace().isEmpty { return "rule has an empty body" }
            if let problem = NFTText.fragmentProblem(rule.body, what: "rule body") { return problem }
            return NFTText.commentProblem(rule.comment)

        case .element(let element):
            if let problem = NFTText.nameProblem(element.set, what: "set") { return problem }
            if element.key.trimmingWhitespace().isEmpty { return "element has an empty key" }
            if let problem = NFTText.fragmentProblem(element.key, what: "element key") { return problem }
            if verb == .delete { return nil }
            if let problem = NFTText.fragmentProblem(element.value, what: "element value") { return problem }
            if let problem = NFTText.fragmentProblem(element.timeout, what: "element timeout") { return problem }
            return NFTText.commentProblem(element.comment)
        }
    }
}

/// Something that applies nftables transactions and lists what is in the kernel (or in a fake).
public protocol NFTablesBackend: Sendable {
    /// Applies every operation of the transaction, or none of them.
    /// - Throws: `NFTablesError`; its `line` points at the failing operation (`tx.operations[line - 1]`).
    func apply(_ tx: Transaction) throws

    /// The tables, optionally of one family only.
    func listTableNames(family: Family?) throws -> [(family: Family, name: String)]

    /// The rules of a chain in order, with their handles and comments; bodies in nft's own text form
    /// (counters without values).
    func listRules(family: Family, table: String, chain: String) throws -> [Rule]

    /// The elements of a set or map, keys and values in nft's text form.
    func listElements(family: Family, table: String, set: String) throws -> [Element]

    /// The table as nft text, or `nil` when it does not exist.
    func listTable(family: Family, table: String) throws -> String?

    /// Flushes `sets` (existing sets and maps) and adds `elements` (each in one of them), all in one transaction.
    /// On the kernel this goes over netlink (`NFTNetlink`), far faster than nft's text for many elements.
    func replaceElements(of sets: [NFTSet], with elements: [Element]) throws

    /// The table's comment and the names of its chains and sets, without reading any element; `nil` when the
    /// table does not exist.
    func tableInfo(family: Family, table: String) throws -> NFTTableInfo?
}

extension NFTablesBackend {
    /// The kernel's `replaceElements`, for the real backends: one netlink batch; text (`flush set`, `add element`
    /// through `apply`) for sets whose layout the netlink encoder does not know.
    func replaceElementsInKernel(of sets: [NFTSet], with elements: [Element]) throws {
        do {
            try NFTNetlink.replaceElements(of: sets, with: elements)
        } catch let error as NFTablesError where error.code == .unavailable {
            try apply(Transaction.replacingElements(of: sets, with: elements))
        }
    }
}

extension NFTablesBackend {
    /// All tables.
    public func listTableNames() throws -> [(family: Family, name: String)] {
        try listTableNames(family: nil)
    }

    /// True when the table exists.
    public func tableExists(family: Family, table: String) throws -> Bool {
        try listTableNames(family: family).contains { $0.name == table }
    }
}

/// The backend to use on this machine: libnftables in-process when it can be loaded, else the `nft` command.
public func defaultNFTablesBackend() -> any NFTablesBackend {
    if let library = LibNFTables() { return library }
    return NFTCommand()
}

/// What a real-nft backend can do: run nft commands given as text. Listing is built on it.
protocol NFTRunner: Sendable {
    /// Runs `commands` (nft text); returns nft's standard output or throws with its error output parsed.
    func run(_ commands: String, options: NFTRunOptions, operation: String) throws -> String
}

/// Output options for one nft run.
struct NFTRunOptions: OptionSet, Sendable {
    let rawValue: UInt32
    static let json = NFTRunOptions(rawValue: 1 << 0)
    static let handles = NFTRunOptions(rawValue: 1 << 1)
    static let stateless = NFTRunOptions(rawValue: 1 << 2)
}

extension NFTRunner {
    /// Applies `tx` as one `nft -f` text, runs of element operations grouped (`Transaction.renderGrouped`); an
    /// error's `line` is made to name the operation again (for a grouped line, the group's first operation).
    func applyTransaction(_ tx: Transaction) throws {
        try tx.validate()
        if tx.isEmpty { return }
        let (text, operationOfLine) = tx.renderGrouped()
        do {
            _ = try run(text, options: [], operation: "apply")
        } catch var error as NFTablesError {
            if let line = error.line, operationOfLine.indices.contains(line - 1) {
                let index = operationOfLine[line - 1]
                error.line = index + 1
                error.lineText = tx.operations[index].render()
            }
            throw error
        }
    }

    func listTableNamesVia(family: Family?) throws -> [(family: Family, name: String)] {
        let command = family.map { "list tables \($0.rawValue)" } ?? "list tables"
        return try NFTListing.tableNames(run(command, options: .json, operation: command), operation: command)
    }

    func listRulesVia(family: Family, table: String, chain: String) throws -> [Rule] {
        try checkNames([(table, "table"), (chain, "chain")], operation: "list chain")
        let command = "list chain \(family.rawValue) \(table) \(chain)"
        let output = try run(command, options: [.handles, .stateless], operation: command)
        return NFTListing.rules(output, family: family, table: table, chain: chain)
    }

    func listElementsVia(family: Family, table: String, set: String) throws -> [Element] {
        try checkNames([(table, "table"), (set, "set")], operation: "list set")
        // nft 1.0.6 lists a map only with `list map` and a set only with `list set`.
        var command = "list set \(family.rawValue) \(table) \(set)"
        var output: String
        do {
            output = try run(command, options: .json, operation: command)
        } catch let error as NFTablesError where error.code == .notFound {
            command = "list map \(family.rawValue) \(table) \(set)"
            do {
                output = try run(command, options: .json, operation: command)
            } catch let mapError as NFTablesError where mapError.code == .notFound {
                throw error
            }
        }
        return try NFTListing.elements(output, family: family, table: table, set: set, operation: command)
    }

    func listTableVia(family: Family, table: String) throws -> String? {
        try checkNames([(table, "table")], operation: "list table")
        let command = "list table \(family.rawValue) \(table)"
        do {
            return try run(command, options: [], operation: command)
        } catch let error as NFTablesError where error.code == .notFound {
            return nil
        }
    }

    private func checkNames(_ names: [(String, String)], operation: String) throws {
        for (name, what) in names {
            if let problem = NFTText.nameProblem(name, what: what) {
                throw NFTablesError(code: .invalidTransaction, operation: operation, message: problem)
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// The nftables backend that runs the `nft` command: `nft -f -` with the transaction on standard input, and
/// `nft -j` or `nft -a -s` for listing.
public final class NFTCommand: NFTablesBackend {
    /// The directories searched for `nft` when no path is given.
    public static let searchDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"]

    /// The nft binary, or `nil` when none was found (every call then throws `.unavailable`).
    public let path: String?

    /// Uses `path`, or the first `nft` found in `searchDirectories`.
    public init(path: String? = nil) {
        if let path {
            self.path = path
        } else {
            self.path = Self.searchDirectories.map { $0 + "/nft" }.first { access($0, X_OK) == 0 }
        }
    }

    public func apply(_ tx: Transaction) throws { try applyTransaction(tx) }

    public func listTableNames(family: Family?) throws -> [(family: Family, name: String)] {
        try listTableNamesVia(family: family)
    }

    public func listRules(family: Family, table: String, chain: String) throws -> [Rule] {
        try listRulesVia(family: family, table: table, chain: chain)
    }

    public func listElements(family: Family, table: String, set: String) throws -> [Element] {
        try listElementsVia(family: family, table: table, set: set)
    }

    public func listTable(family: Family, table: String) throws -> String? {
        try listTableVia(family: family, table: table)
    }

    public func replaceElements(of sets: [NFTSet], with elements: [Element]) throws {
        try replaceElementsInKernel(of: sets, with: elements)
    }

    public func tableInfo(family: Family, table: String) throws -> NFTTableInfo? {
        try NFTNetlink.tableInfo(family: family, table: table)
    }
}

extension NFTCommand: NFTRunner {
    func run(_ commands: String, options: NFTRunOptions, operation: String) throws -> String {
        guard let path else {
            throw NFTablesError(
                code: .unavailable, operation: operation,
                message: "no nft binary in \(Self.searchDirectories.joined(separator: ", "))")
        }
        var arguments: [String] = []
        if options.contains(.json) { arguments.append("-j") }
        if options.contains(.handles) { arguments.append("-a") }
        if options.contains(.stateless) { arguments.append("-s") }
        // With -j, nft -f expects JSON input (and consumes it trying), so a JSON listing goes on the command line;
        // its words are nft identifiers, checked before.
        var input: [UInt8]? = nil
        if options.contains(.json) {
            arguments += commands.split(separator: " ").map(String.init)
        } else {
            arguments += ["-f", "-"]
            input = Array(commands.utf8)
        }
        let result: ProcessResult
        do {
            result = try ProcessRunner.run(path, arguments: arguments, stdin: input)
        } catch {
            throw NFTablesError(code: .unavailable, operation: operation, message: "\(error)")
        }
        guard result.succeeded else {
            var nftError = NFTablesError.fromNFT(
                operation: operation, errorOutput: result.stderrString, input: commands)
            if result.stderr.isEmpty { nftError.message = "nft exited with status \(result.exitStatus)" }
            throw nftError
        }
        return result.stdoutString
    }
}

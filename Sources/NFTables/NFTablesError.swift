/// A failure of an nftables operation: what was attempted, what nft (or the fake) answered, and, for a
/// transaction, which of its lines the error points at.
public struct NFTablesError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The kind of failure, for callers that must react to some of them (e.g. ignore `notFound` on cleanup).
    public enum Code: String, Sendable, Hashable {
        /// An object named by the operation does not exist (`ENOENT`).
        case notFound
        /// The object already exists (`EEXIST`), e.g. `create` of an existing table or element.
        case exists
        /// The object is still in use (`EBUSY`), e.g. deleting a chain with rules or one that is jumped to.
        case busy
        /// An element of an interval set overlaps one that is there (nft: "interval overlaps with an existing one").
        case overlap
        /// The transaction is malformed before it reaches nft: a bad name, a comment too long, a missing handle.
        case invalidTransaction
        /// nft rejected the command for another reason (syntax error, unsupported feature, permission).
        case commandFailed
        /// No nft binary or library could be used.
        case unavailable
        /// nft's output could not be understood.
        case invalidOutput
    }

    public var code: Code
    /// What was attempted: `"apply"`, `"list chain ip weft post"`, ….
    public var operation: String
    /// The error text: nft's first error message, without its location.
    public var message: String
    /// The 1-based line of the transaction (or listing command) the error points at, when known.
    public var line: Int?
    /// The text of that line.
    public var lineText: String?
    /// nft's complete error output, when there was one.
    public var details: String?

    public init(
        code: Code, operation: String, message: String, line: Int? = nil, lineText: String? = nil,
        details: String? = nil
    ) {
        self.code = code
        self.operation = operation
        self.message = message
        self.line = line
        self.lineText = lineText
        self.details = details
    }

    public var description: String {
        var text = "nftables \(operation) failed: \(message)"
        if let line {
            text += " (line \(line)"
            if let lineText { text += ": \(lineText)" }
            text += ")"
        }
        return text
    }

    /// Builds an error from nft's error output for the command `input` (the text handed to nft).
    ///
    /// nft writes `/dev/stdin:3:22-28: Error: Could not process rule: No such file or directory` (or
    /// `<cmdline>:3:…` from libnftables) followed by the offending line and a caret line; the line number is
    /// taken from there and the line text from `input`.
    static func fromNFT(operation: String, errorOutput: String, input: String) -> NFTablesError {
        let trimmed = errorOutput.trimmingWhitespace()
        let lines = trimmed.split(separator: "\n", omittingEmptySubsequences: false)
        var message = trimmed.isEmpty ? "nft failed without an error message" : String(lines[0])
        var lineNumber: Int? = nil
        if let errorLine = lines.first(where: { $0.contains("Error: ") }),
            let range = errorLine.firstRange(of: "Error: ")
        {
            message = String(errorLine[range.upperBound...])
            let location = errorLine[..<range.lowerBound]
            // "<source>:<line>:<columns>: " — the source may itself contain ':' only in odd file names.
            let parts = location.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count >= 3, let n = Int(parts[parts.count - 3]) { lineNumber = n }
        }
        let inputLines = input.split(separator: "\n", omittingEmptySubsequences: false)
        if lineNumber == nil && inputLines.filter({ !$0.isEmpty }).count == 1 { lineNumber = 1 }
        var lineText: String? = nil
        if let n = lineNumber, n >= 1, n <= inputLines.count { lineText = String(inputLines[n - 1]) }
        return NFTablesError(
            code: classify(message), operation: operation, message: message, line: lineNumber, lineText: lineText,
            details: trimmed.isEmpty ? nil : trimmed)
    }

    static func classify(_ message: String) -> Code {
        if message.contains("No such file or directory") { return .notFound }
        if message.contains("File exists") { return .exists }
        if message.contains("Device or resource busy") { return .busy }
        if message.contains("interval overlaps") { return .overlap }
        return .commandFailed
    }
}

extension StringProtocol {
    /// The range of the last occurrence of `needle`.
    func lastRange(of needle: String) -> Range<Index>? {
        var found: Range<Index>? = nil
        var searchStart = startIndex
        while searchStart < endIndex, let range = self[searchStart...].firstRange(of: needle) {
            found = range
            searchStart = index(after: range.lowerBound)
        }
        return found
    }

    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}

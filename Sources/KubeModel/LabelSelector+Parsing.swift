/// Why a selector string (`?labelSelector=`, `kubectl -l`, `?fieldSelector=`) could not be parsed.
public struct SelectorParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The whole selector string.
    public var input: String
    /// Where the problem is: an offset in characters from the start of `input` (0-based).
    public var position: Int
    /// What is wrong, e.g. `expected '(' after 'in', found 'x'`.
    public var problem: String

    public init(input: String, position: Int, problem: String) {
        self.input = input
        self.position = position
        self.problem = problem
    }

    public var description: String { "invalid selector \"\(input)\": \(problem) at position \(position)" }
}

extension LabelSelector {
    /// Parses the string form: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a` (does not
    /// exist), comma-separated and ANDed, whitespace allowed between tokens. The empty string is the empty selector.
    ///
    /// `=`/`==` become `matchLabels` (or an `In` expression when the key is already there), `!=` becomes `NotIn`.
    /// Keys must be qualified names and values valid label values, as kube-apiserver requires.
    public init(parsing text: String) throws(SelectorParseError) {
        self.init()
        var parser = LabelSelectorParser(text)
        for requirement in try parser.parse() {
            if requirement.operator == .in, let value = requirement.values?.first, requirement.values?.count == 1,
                requirement.fromEquals, matchLabels?[requirement.key] == nil
            {
                matchLabels = matchLabels ?? [:]
                matchLabels?[requirement.key] = value
            } else {
                matchExpressions =
                    (matchExpressions ?? []) + [
                        LabelSelectorRequirement(
                            key: requirement.key, operator: requirement.operator, values: requirement.values)
                    ]
            }
        }
    }
}

/// Tokenizer and recursive-descent parser of the label selector grammar of k8s.io/apimachinery `labels.Parse`.
struct LabelSelectorParser {
    enum Token: Equatable {
        case identifier(String)
        case not, equals, doubleEquals, notEquals, open, close, comma, greater, less
        case end

        var text: String {
            switch self {
            case .identifier(let s): "'\(s)'"
            case .not: "'!'"
            case .equals: "'='"
            case .doubleEquals: "'=='"
            case .notEquals: "'!='"
            case .open: "'('"
            case .close: "')'"
            case .comma: "','"
            case .greater: "'>'"
            case .less: "'<'"
            case .end: "end of input"
            }
        }
    }

    struct Parsed {
        var key: String
        var `operator`: LabelSelectorOperator
        var values: [String]?
        var fromEquals = false
    }

    let input: String
    let scalars: [Unicode.Scalar]
    var index = 0
    /// Start of the token last returned by `next()`.
    var tokenStart = 0

    init(_ input: String) {
        self.input = input
        scalars = Array(input.unicodeScalars)
    }

    func error(_ problem: String, at position: Int) -> SelectorParseError {
        SelectorParseError(input: input, position: position, problem: problem)
    }

    static func isSpecial(_ c: Unicode.Scalar) -> Bool { "!=(),<>".unicodeScalars.contains(c) }

    mutating func next() -> Token {
        while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
        tokenStart = index
        guard index < scalars.count else { return .end }
        let c = scalars[index]
        index += 1
        let following = index < scalars.count ? scalars[index] : nil
        switch c {
        case "!":
            if following == "=" {
                index += 1
                return .notEquals
            }
            return .not
        case "=":
            if following == "=" {
                index += 1
                return .doubleEquals
            }
            return .equals
        case "(": return .open
        case ")": return .close
        case ",": return .comma
        case ">": return .greater
        case "<": return .less
        default:
            var text = String.UnicodeScalarView([c])
            while index < scalars.count, !scalars[index].properties.isWhitespace, !Self.isSpecial(scalars[index]) {
                text.append(scalars[index])
                index += 1
            }
            return .identifier(String(text))
        }
    }

    mutating func peek() -> Token {
        let (savedIndex, savedStart) = (index, tokenStart)
        defer { (index, tokenStart) = (savedIndex, savedStart) }
        return next()
    }

    mutating func parse() throws(SelectorParseError) -> [Parsed] {
        if peek() == .end { return [] }
        var requirements: [Parsed] = []
        while true {
            requirements.append(try parseRequirement())
            switch next() {
            case .end: return requirements
            case .comma: continue
            case let token: throw error("expected ',' or end of input, found \(token.text)", at: tokenStart)
            }
        }
    }

    mutating func parseKey() throws(SelectorParseError) -> String {
        let token = next()
        guard case .identifier(let key) = token, key != "in", key != "notin" else {
            throw error("expected a label key, found \(token.text)", at: tokenStart)
        }
        let problems = LabelValidation.isQualifiedName(key)
        if !problems.isEmpty {
            throw error("invalid label key \"\(key)\": \(problems.joined(separator: "; "))", at: tokenStart)
        }
        return key
    }

    mutating func validated(_ value: String, at position: Int) throws(SelectorParseError) -> String {
        let problems = LabelValidation.isValidLabelValue(value)
        if !problems.isEmpty {
            throw error("invalid label value \"\(value)\": \(problems.joined(separator: "; "))", at: position)
        }
        return value
    }

    mutating func parseRequirement() throws(SelectorParseError) -> Parsed {
        if peek() == .not {
            _ = next()
            return Parsed(key: try parseKey(), operator: .doesNotExist)
        }
        let key = try parseKey()
        let token = peek()
        switch token {
        case .end, .comma:
            return Parsed(key: key, operator: .exists)
        case .equals, .doubleEquals, .notEquals:
            _ = next()
            let value: String
            switch peek() {
            case .end, .comma:
                value = ""
            case .identifier(let text):
                _ = next()
                value = try validated(text, at: tokenStart)
            case let other:
                _ = next()
                throw error("expected a value after \(token.text), found \(other.text)", at: tokenStart)
            }
            if token == .notEquals { return Parsed(key: key, operator: .notIn, values: [value]) }
            return Parsed(key: key, operator: .in, values: [value], fromEquals: true)
        case .identifier("in"), .identifier("notin"):
            _ = next()
            let keyword = token == .identifier("in") ? "in" : "notin"
            let opening = next()
            guard opening == .open else {
                throw error("expected '(' after '\(keyword)', found \(opening.text)", at: tokenStart)
            }
            let openedAt = tokenStart
            let values = try parseValueList()
            if values.isEmpty {
                throw error("the values of '\(keyword)' must not be empty", at: openedAt)
            }
            return Parsed(key: key, operator: keyword == "in" ? .in : .notIn, values: values)
        case .greater, .less:
            _ = next()
            throw error(
                "operator \(token.text) is not supported by label selectors (only =, ==, !=, in, notin, exists)",
                at: tokenStart)
        default:
            _ = next()
            throw error(
                "expected an operator (=, ==, !=, in, notin), ',' or end of input after key '\(key)', found "
                    + token.text, at: tokenStart)
        }
    }

    /// After `(`: values separated by commas up to `)`. Empty items (`(a,,b)`) are the empty value, as in
    /// Kubernetes; duplicates are dropped.
    mutating func parseValueList() throws(SelectorParseError) -> [String] {
        var values: [String] = []
        var expectingValue = true
        func add(_ v: String) {
            if !values.contains(v) { values.append(v) }
        }
        while true {
            let token = next()
            switch token {
            case .identifier(let text) where expectingValue:
                add(try validated(text, at: tokenStart))
                expectingValue = false
            case .comma:
                if expectingValue { add("") }
                expectingValue = true
            case .close:
                if expectingValue && !values.isEmpty { add("") }
                return values
            case .end:
                throw error("missing ')' to close the value list", at: tokenStart)
            default:
                throw error("expected a value, ',' or ')' in the value list, found \(token.text)", at: tokenStart)
            }
        }
    }
}

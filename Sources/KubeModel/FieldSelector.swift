/// A field selector (`?fieldSelector=`, `kubectl --field-selector`): `field=value`, `field==value` or
/// `field!=value` terms, comma-separated and ANDed, e.g. `metadata.namespace!=kube-system,spec.nodeName=node-1`.
///
/// A backslash escapes `,`, `=`, `!` and `\` in values, as in Kubernetes. Which fields are supported is the
/// server's decision (kube-apiserver supports `metadata.name` and `metadata.namespace` for every kind, plus a few
/// per kind such as a Pod's `spec.nodeName`).
public struct FieldSelector: Sendable, Hashable, CustomStringConvertible {
    /// One `field op value` term.
    public struct Requirement: Sendable, Hashable {
        public enum Operator: String, Sendable, Hashable {
            case equals = "="
            case notEquals = "!="
        }

        public var field: String
        public var `operator`: Operator
        public var value: String

        public init(field: String, operator: Operator, value: String) {
            self.field = field
            self.operator = `operator`
            self.value = value
        }
    }

    public var requirements: [Requirement]

    public init(_ requirements: [Requirement] = []) { self.requirements = requirements }

    /// Parses the string form; the empty string is the empty selector (matches everything).
    public init(parsing text: String) throws(SelectorParseError) {
        requirements = []
        let scalars = Array(text.unicodeScalars)
        if scalars.allSatisfy({ $0.properties.isWhitespace }) { return }
        var start = 0
        var term = String.UnicodeScalarView()
        var i = 0
        while i <= scalars.count {
            if i == scalars.count || scalars[i] == "," {
                requirements.append(try Self.parseTerm(String(term), input: text, at: start))
                term = String.UnicodeScalarView()
                start = i + 1
            } else if scalars[i] == "\\", i + 1 < scalars.count {
                // Keep the escape for the term parser, which must not split on an escaped '=' or '!'.
                term.append(scalars[i])
                term.append(scalars[i + 1])
                i += 1
            } else {
                term.append(scalars[i])
            }
            i += 1
        }
    }

    static func parseTerm(_ term: String, input: String, at offset: Int) throws(SelectorParseError) -> Requirement {
        let scalars = Array(term.unicodeScalars)
        var i = 0
        var field = String.UnicodeScalarView()
        var op: Requirement.Operator?
        var opEnd = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "\\" {
                i += 2
                continue
            }
            if c == "!", i + 1 < scalars.count, scalars[i + 1] == "=" {
                op = .notEquals
                opEnd = i + 2
                break
            }
            if c == "=" {
                op = .equals
                opEnd = i + 1 < scalars.count && scalars[i + 1] == "=" ? i + 2 : i + 1
                break
            }
            field.append(c)
            i += 1
        }
        let trimmedField = String(field).trimmingWhitespace()
        guard let op else {
            throw SelectorParseError(
                input: input, position: offset,
                problem: "'\(term.trimmingWhitespace())' is not a 'field=value', 'field==value' or 'field!=value' term")
        }
        guard !trimmedField.isEmpty else {
            throw SelectorParseError(input: input, position: offset, problem: "missing field name before the operator")
        }
        var value = String.UnicodeScalarView()
        var j = opEnd
        while j < scalars.count {
            if scalars[j] == "\\" {
                guard j + 1 < scalars.count, "\\,=!".unicodeScalars.contains(scalars[j + 1]) else {
                    throw SelectorParseError(
                        input: input, position: offset + j,
                        problem: "invalid escape sequence (only \\\\, \\, \\= and \\! are allowed)")
                }
                value.append(scalars[j + 1])
                j += 2
            } else {
                value.append(scalars[j])
                j += 1
            }
        }
        return Requirement(field: trimmedField, operator: op, value: String(value).trimmingWhitespace())
    }

    /// The field names this selector uses, for a server to check it supports them.
    public var fields: [String] { requirements.map(\.field) }

    /// Whether an object matches, `get` giving a field's value (`nil` for an unset field, compared as `""`).
    public func matches(_ get: (String) -> String?) -> Bool {
        requirements.allSatisfy { requirement in
            let actual = get(requirement.field) ?? ""
            switch requirement.operator {
            case .equals: return actual == requirement.value
            case .notEquals: return actual != requirement.value
            }
        }
    }

    /// Whether a flat map of fields matches (`["metadata.name": "x", "spec.nodeName": "n"]`).
    public func matches(_ fields: [String: String]) -> Bool { matches { fields[$0] } }

    /// The string form, values escaped.
    public var description: String {
        requirements.map { r in
            var escaped = ""
            for c in r.value {
                if "\\,=!".contains(c) { escaped.append("\\") }
                escaped.append(c)
            }
            return "\(r.field)\(r.operator.rawValue)\(escaped)"
        }.joined(separator: ",")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

import Foundation
import KubeModel
import WeftNet

/// Label and field selectors as they arrive in `labelSelector` / `fieldSelector` query parameters.
///
/// A small parser kept inside the server (KubeModel gets its own typed selectors): label selectors support
/// `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` and `!k`; field selectors support `=`, `==` and `!=` on
/// `metadata.name`, `metadata.namespace` and a few kind-specific fields (`spec.nodeName`, `status.phase`, …).
enum SelectorParsing {
    /// One requirement of a selector.
    struct Requirement: Sendable, Equatable {
        enum Operator: Sendable, Equatable {
            case equals, notEquals, `in`, notIn, exists, doesNotExist
        }

        var key: String
        var op: Operator
        var values: [String]

        func matches(_ lookup: (String) -> String?) -> Bool {
            let value = lookup(key)
            switch op {
            case .equals: return value == values.first
            case .notEquals: return value != values.first
            case .in: return value.map { values.contains($0) } ?? false
            case .notIn: return value.map { !values.contains($0) } ?? true
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            }
        }
    }

    /// A parsed selector: all requirements must hold. The empty selector matches everything.
    struct Selector: Sendable, Equatable {
        var requirements: [Requirement] = []

        func matches(_ lookup: (String) -> String?) -> Bool { requirements.allSatisfy { $0.matches(lookup) } }
    }

    /// Why a selector does not parse.
    struct ParseError: Error, Equatable {
        var message: String
    }

    /// Parses a label selector.
    static func parseLabelSelector(_ text: String) throws(ParseError) -> Selector {
        var requirements: [Requirement] = []
        for term in try splitTerms(text) {
            requirements.append(try parseLabelTerm(term))
        }
        return Selector(requirements: requirements)
    }

    /// Parses a field selector (only equality-based terms exist for fields).
    static func parseFieldSelector(_ text: String) throws(ParseError) -> Selector {
        var requirements: [Requirement] = []
        for term in try splitTerms(text) {
            let (key, op, value): (String, Requirement.Operator, String)
            if let range = term.range(of: "!=") {
                (key, op, value) = (String(term[..<range.lowerBound]), .notEquals, String(term[range.upperBound...]))
            } else if let range = term.range(of: "==") {
                (key, op, value) = (String(term[..<range.lowerBound]), .equals, String(term[range.upperBound...]))
            } else if let range = term.range(of: "=") {
                (key, op, value) = (String(term[..<range.lowerBound]), .equals, String(term[range.upperBound...]))
            } else {
                throw ParseError(message: "invalid selector: '\(text)'; can't understand '\(term)'")
            }
            requirements.append(
                Requirement(key: key.trimmed, op: op, values: [value.trimmed]))
        }
        return Selector(requirements: requirements)
    }

    /// The fields a field selector may name for a resource (kube rejects others with 400).
    static func supportedFields(_ resource: ResourceInfo) -> Set<String> {
        var fields: Set<String> = ["metadata.name"]
        if resource.namespaced { fields.insert("metadata.namespace") }
        switch resource.storageKey {
        case "/pods":
            fields.formUnion([
                "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                "spec.serviceAccountName", "status.phase", "status.podIP", "spec.hostNetwork",
            ])
        case "/namespaces": fields.insert("status.phase")
        case "/nodes": fields.insert("spec.unschedulable")
        case "/secrets": fields.insert("type")
        case "/events":
            // kube-apiserver's event fields (pkg/registry/core/event/strategy.go ToSelectableFields).
            fields.formUnion([
                "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                "reportingComponent", "source", "type",
            ])
        default: break
        }
        return fields
    }

    /// The value of a selectable field of an object, as text.
    static func fieldValue(_ object: JSONValue, _ field: String) -> String? {
        // An Event's `source` field is its reporting component.
        let path = field == "source" ? ["source", "component"] : field.split(separator: ".").map(String.init)
        let value = object.value(at: path)
        switch value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.rounded() == n ? String(Int64(n)) : String(n)
        case .null, nil:
            // kube compares unset fields as the empty string (`spec.nodeName=` selects unscheduled pods).
            return field == "spec.hostNetwork" || field == "spec.unschedulable" ? "false" : ""
        default: return nil
        }
    }

    // MARK: Helpers

    /// Splits on commas that are not inside parentheses.
    private static func splitTerms(_ text: String) throws(ParseError) -> [String] {
        var terms: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(":
                depth += 1
                current.append(character)
            case ")":
                depth -= 1
                if depth < 0 { throw ParseError(message: "unexpected ')' in selector '\(text)'") }
                current.append(character)
            case "," where depth == 0:
                terms.append(current)
                current = ""
            default: current.append(character)
            }
        }
        if depth != 0 { throw ParseError(message: "unclosed '(' in selector '\(text)'") }
        terms.append(current)
        let trimmed = terms.map(\.trimmed)
        if trimmed == [""] { return [] }
        if trimmed.contains("") { throw ParseError(message: "empty term in selector '\(text)'") }
        return trimmed
    }

    private static func parseLabelTerm(_ term: String) throws(ParseError) -> Requirement {
        if term.hasPrefix("!") {
            let key = String(term.dropFirst()).trimmed
            try checkKey(key, term)
            return Requirement(key: key, op: .doesNotExist, values: [])
        }
        for (token, op) in [("!=", Requirement.Operator.notEquals), ("==", .equals), ("=", .equals)] {
            if let range = term.range(of: token) {
                let key = String(term[..<range.lowerBound]).trimmed
                let value = String(term[range.upperBound...]).trimmed
                try checkKey(key, term)
                try checkValue(value, term)
                return Requirement(key: key, op: op, values: [value])
            }
        }
        let words = term.split(separator: " ", maxSplits: 1).map(String.init)
        if words.count == 2 {
            let rest = words[1].trimmed
            for (keyword, op) in [("notin", Requirement.Operator.notIn), ("in", .in)] where rest.hasPrefix(keyword) {
                let list = rest.dropFirst(keyword.count).trimmed
                guard list.hasPrefix("("), list.hasSuffix(")") else { break }
                let values = list.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
                    .map { String($0).trimmed }
                try checkKey(words[0], term)
                for value in values { try checkValue(value, term) }
                return Requirement(key: words[0], op: op, values: values)
            }
            throw ParseError(message: "unable to parse requirement: '\(term)'")
        }
        try checkKey(term, term)
        return Requirement(key: term, op: .exists, values: [])
    }

    private static func checkKey(_ key: String, _ term: String) throws(ParseError) {
        let allowed = key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./".contains($0)) }
        if key.isEmpty || !allowed {
            throw ParseError(message: "unable to parse requirement: invalid label key \"\(key)\" in '\(term)'")
        }
    }

    private static func checkValue(_ value: String, _ term: String) throws(ParseError) {
        let allowed = value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        if !allowed || value.count > 63 {
            throw ParseError(message: "unable to parse requirement: invalid label value: \"\(value)\" in '\(term)'")
        }
    }
}

extension StringProtocol {
    var trimmed: String {
        String(self).trimmingCharacters(in: .whitespaces)
    }
}

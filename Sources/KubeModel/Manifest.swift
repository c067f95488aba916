import Foundation
import WeftNet
import Yams

/// Why a manifest (YAML or JSON, one or more documents) could not be read, and where.
public struct ManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based number of the document (`---`-separated in YAML), when known.
    public var document: Int?
    /// 1-based line and column in the whole text, when known.
    public var line: Int?
    public var column: Int?
    /// What is wrong, e.g. `mapping values are not allowed in this context`.
    public var problem: String

    public init(document: Int? = nil, line: Int? = nil, column: Int? = nil, problem: String) {
        self.document = document
        self.line = line
        self.column = column
        self.problem = problem
    }

    /// `document 2 (line 7, column 5): mapping values are not allowed in this context`.
    public var description: String {
        var place: [String] = []
        if let line { place.append(column.map { "line \(line), column \($0)" } ?? "line \(line)") }
        guard let document else { return place.isEmpty ? problem : "\(place[0]): \(problem)" }
        return place.isEmpty ? "document \(document): \(problem)" : "document \(document) (\(place[0])): \(problem)"
    }
}

/// Reading and writing manifests: the text `kubectl apply -f` takes.
public enum Manifest {
    /// The objects of a manifest: YAML with one or more `---`-separated documents, or JSON (one object). A document
    /// whose kind ends in `List` (`List`, `PodList`, …) stands for its `items`; items of a typed list without
    /// `apiVersion`/`kind` get the list's. Empty documents are skipped. Every object must have `apiVersion` and
    /// `kind`.
    public static func decodeDocuments(_ text: String) throws(ManifestError) -> [JSONValue] {
        let trimmed = text.drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        let documents: [(number: Int, value: JSONValue)]
        if trimmed.first == "{" || trimmed.first == "[" {
            documents = [(1, try parseJSON(String(trimmed)))]
        } else {
            documents = try parseYAML(text)
        }
        var objects: [JSONValue] = []
        for (number, value) in documents {
            if value == .null { continue }
            guard case .object = value else {
                throw ManifestError(document: number, problem: "expected an object, found \(kindOfValue(value))")
            }
            objects += try expand(value, document: number)
        }
        return objects
    }

    /// A JSON tree as a typed object. A `kind` or `apiVersion` other than the type's is an error; absent ones
    /// take the type's.
    public static func decode<T: KubeObject>(_ value: JSONValue, as type: T.Type = T.self) throws(ManifestError) -> T {
        guard case .object = value else {
            throw ManifestError(problem: "expected a \(T.resource.kind) object, found \(kindOfValue(value))")
        }
        if let kind = value["kind"], kind != .string(T.resource.kind) {
            throw ManifestError(problem: "expected kind \(T.resource.kind), found \(describe(kind))")
        }
        if let apiVersion = value["apiVersion"], apiVersion != .string(T.resource.apiVersion) {
            throw ManifestError(
                problem:
                    "expected apiVersion \(T.resource.apiVersion) for \(T.resource.kind), found \(describe(apiVersion))"
            )
        }
        do {
            return try value.decoded(as: T.self)
        } catch let error as DecodingError {
            throw ManifestError(problem: "\(T.resource.kind): " + describe(error))
        } catch {
            throw ManifestError(problem: "\(T.resource.kind): \(error)")
        }
    }

    /// A typed object as a JSON tree (`apiVersion` and `kind` included).
    public static func encode<T: KubeObject>(_ object: T) throws -> JSONValue {
        try JSONValue(encoding: object)
    }

    /// YAML text of objects, `---`-separated, keys sorted; strings that would read back as another type (`"80"`,
    /// `"true"`) are quoted.
    public static func yamlText(_ values: [JSONValue]) throws -> String {
        try values.map { try Yams.serialize(node: node(of: $0), sortKeys: true) }.joined(separator: "---\n")
    }

    // MARK: - JSON

    static func parseJSON(_ text: String) throws(ManifestError) -> JSONValue {
        do {
            return try JSONValue(json: text)
        } catch let error as DecodingError {
            throw ManifestError(document: 1, problem: "invalid JSON: " + describe(error))
        } catch {
            throw ManifestError(document: 1, problem: "invalid JSON: \(error)")
        }
    }

    // MARK: - YAML

    static func parseYAML(_ text: String) throws(ManifestError) -> [(number: Int, value: JSONValue)] {
        var documents: [(number: Int, value: JSONValue)] = []
        do {
            let parser = try Parser(yaml: text, resolver: .default, constructor: .default, encoding: .utf8)
            while let node = try parser.nextRoot() {
                let number = documents.count + 1
                documents.append((number, try jsonValue(of: node, document: number)))
            }
        } catch let error as ManifestError {
            throw error
        } catch let error as YamlError {
            throw manifestError(error, document: documents.count + 1)
        } catch {
            throw ManifestError(document: documents.count + 1, problem: "invalid YAML: \(error)")
        }
        return documents
    }

    static func manifestError(_ error: YamlError, document: Int) -> ManifestError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let text = context.map { "\(problem) (\($0.text) at line \($0.mark.line), column \($0.mark.column))" }
            return ManifestError(
                document: document, line: mark.line, column: mark.column, problem: "invalid YAML: " + (text ?? problem))
        case .reader(let problem, _, _, _):
            return ManifestError(document: document, problem: "invalid YAML: \(problem)")
        default:
            return ManifestError(document: document, problem: "invalid YAML: \(error)")
        }
    }

    static func jsonValue(of node: Yams.Node, document: Int) throws(ManifestError) -> JSONValue {
        func fail(_ problem: String, _ mark: Yams.Mark?) -> ManifestError {
            ManifestError(document: document, line: mark?.line, column: mark?.column, problem: problem)
        }
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case .null:
                return .null
            case .bool:
                return Bool.construct(from: scalar).map(JSONValue.bool) ?? .string(scalar.string)
            case .int:
                if let i = Int.construct(from: scalar) { return .number(Double(i)) }
                throw fail("integer \(scalar.string) is out of range", scalar.mark)
            case .float:
                guard let d = Double.construct(from: scalar), d.isFinite else {
                    throw fail("\(scalar.string) is not a number JSON can hold", scalar.mark)
                }
                return .number(d)
            default:
                return .string(scalar.string)
            }
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for item in sequence { items.append(try jsonValue(of: item, document: document)) }
            return .array(items)
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            var merged: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw fail(
                        "a mapping key must be a scalar, not a \(key.mapping != nil ? "mapping" : "sequence")", key.mark
                    )
                }
                if Tag.Name(rawValue: key.tag.description) == .merge {
                    // `<<: *anchor` or `<<: [*a, *b]`: keys of the anchors, the mapping's own keys win.
                    let sources = value.sequence.map(Array.init) ?? [value]
                    for source in sources {
                        guard case .object(let fields) = try jsonValue(of: source, document: document) else {
                            throw fail("a merge key '<<' needs a mapping or a list of mappings", value.mark)
                        }
                        merged.merge(fields) { first, _ in first }
                    }
                    continue
                }
                let name = keyScalar.string
                if object[name] != nil {
                    throw fail("duplicate key \"\(name)\"", key.mark)
                }
                object[name] = try jsonValue(of: value, document: document)
            }
            object.merge(merged) { own, _ in own }
            return .object(object)
        }
    }

    static func node(of value: JSONValue) throws -> Yams.Node {
        switch value {
        case .null: return Yams.Node("null", Tag(.null))
        case .bool(let b): return Yams.Node(b ? "true" : "false", Tag(.bool))
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { return Yams.Node(String(Int64(n)), Tag(.int)) }
            return Yams.Node(String(n), Tag(.float))
        case .string(let s):
            // A plain scalar that would read back as another type (`80`, `true`, ``, `~`) must be quoted.
            let plainType = Resolver.default.resolveTag(of: Yams.Node(s))
            return Yams.Node(s, Tag(.str), plainType == .str ? .any : .doubleQuoted)
        case .array(let a): return Yams.Node(try a.map(node(of:)), Tag(.seq))
        case .object(let o):
            return Yams.Node(
                try o.sorted { $0.key < $1.key }.map { (Yams.Node($0.key, Tag(.str)), try node(of: $0.value)) },
                Tag(.map))
        }
    }

    // MARK: - Lists and checks

    static func expand(_ value: JSONValue, document: Int) throws(ManifestError) -> [JSONValue] {
        guard case .string(let kind)? = value["kind"], !kind.isEmpty else {
            throw ManifestError(document: document, problem: "the object has no kind (Object 'Kind' is missing)")
        }
        guard case .string(let apiVersion)? = value["apiVersion"], !apiVersion.isEmpty else {
            throw ManifestError(document: document, problem: "the \(kind) has no apiVersion")
        }
        guard kind.hasSuffix("List"), let itemsValue = value["items"] else { return [value] }
        guard case .array(let items) = itemsValue else {
            throw ManifestError(document: document, problem: "items of the \(kind) is not a list")
        }
        let itemKind = kind == "List" ? nil : String(kind.dropLast(4))
        var objects: [JSONValue] = []
        for (i, item) in items.enumerated() {
            guard case .object = item else {
                throw ManifestError(document: document, problem: "items[\(i)] of the \(kind) is not an object")
            }
            var item = item
            if item["kind"] == nil, let itemKind { item["kind"] = .string(itemKind) }
            if item["apiVersion"] == nil, itemKind != nil { item["apiVersion"] = .string(apiVersion) }
            do {
                objects += try expand(item, document: document)
            } catch {
                throw ManifestError(document: document, problem: "items[\(i)]: \(error.problem)")
            }
        }
        return objects
    }

    static func kindOfValue(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    static func describe(_ value: JSONValue) -> String {
        if case .string(let s) = value { return "\"\(s)\"" }
        return kindOfValue(value)
    }

    /// `spec.ports[0].port: expected Int, found a string` from a DecodingError.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let i = key.intValue {
                    text += "[\(i)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text
        }
        func located(_ codingPath: [any CodingKey], _ message: String) -> String {
            let at = path(codingPath)
            return at.isEmpty ? message : "\(at): \(message)"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return located(context.codingPath, "expected \(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return located(context.codingPath, "expected \(type), found null")
        case .keyNotFound(let key, let context):
            return located(context.codingPath + [key], "required field is missing")
        case .dataCorrupted(let context):
            var message = context.debugDescription
            if let underlying = context.underlyingError { message += " \(underlying)" }
            return located(context.codingPath, message)
        @unknown default:
            return "\(error)"
        }
    }
}

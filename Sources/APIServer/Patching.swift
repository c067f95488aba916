import Foundation
import KubeModel
import WeftNet

/// The three patch formats kube-apiserver accepts, applied to JSON objects.
enum Patching {
    /// The patch formats, by request `Content-Type`.
    enum Kind: String, CaseIterable {
        case json = "application/json-patch+json"
        case merge = "application/merge-patch+json"
        case strategic = "application/strategic-merge-patch+json"
    }

    /// Why a patch does not apply (answered as 422).
    struct Failure: Error, Equatable {
        var message: String
    }

    // MARK: RFC 7386 JSON merge patch

    /// Applies a JSON merge patch: objects merge recursively, `null` removes a key, anything else replaces.
    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in patchObject {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    // MARK: RFC 6902 JSON patch

    /// Applies a JSON patch (a list of operations), all or nothing.
    static func jsonPatch(_ target: JSONValue, _ patch: JSONValue) throws(Failure) -> JSONValue {
        guard case .array(let operations) = patch else {
            throw Failure(message: "a JSON patch must be an array of operations")
        }
        var document = target
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw Failure(
                    message: "a JSON patch operation needs \"op\" and \"path\": \(JSONCoding.encodeString(operation))")
            }
            let pointer = try parsePointer(path)
            switch op {
            case "add":
                document = try add(document, pointer, try value(of: operation, op))
            case "remove":
                document = try remove(document, pointer, op: op).document
            case "replace":
                _ = try get(document, pointer, op: op)
                document = try remove(document, pointer, op: op).document
                document = try add(document, pointer, try value(of: operation, op))
            case "move", "copy":
                guard let fromText = operation["from"]?.stringValue else {
                    throw Failure(message: "jsonpatch \(op) operation is missing \"from\"")
                }
                let from = try parsePointer(fromText)
                var moved: JSONValue
                if op == "move" {
                    if pointer.starts(with: from), pointer.count > from.count {
                        throw Failure(message: "jsonpatch move: \"from\" is a prefix of \"path\"")
                    }
                    let result = try remove(document, from, op: op)
                    document = result.document
                    moved = result.removed
                } else {
                    moved = try get(document, from, op: op)
                }
                document = try add(document, pointer, moved)
            case "test":
                let expected = try value(of: operation, op)
                if try get(document, pointer, op: op) != expected {
                    throw Failure(message: "testing value \(path) failed")
                }
            default:
                throw Failure(message: "unexpected kind of JSON patch operation: \(op)")
            }
        }
        return document
    }

    private static func value(of operation: JSONValue, _ op: String) throws(Failure) -> JSONValue {
        guard let value = operation["value"] else {
            throw Failure(message: "jsonpatch \(op) operation is missing \"value\"")
        }
        return value
    }

    private static func parsePointer(_ path: String) throws(Failure) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw Failure(message: "invalid JSON pointer \"\(path)\"") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func get(_ document: JSONValue, _ pointer: [String], op: String) throws(Failure) -> JSONValue {
        var current = document
        for token in pointer {
            switch current {
            case .object(let object):
                guard let next = object[token] else {
                    throw Failure(
                        message:
                            "jsonpatch \(op) operation does not apply: doc is missing key: /\(pointer.joined(separator: "/"))"
                    )
                }
                current = next
            case .array(let array):
                guard let index = Int(token), array.indices.contains(index) else {
                    throw Failure(message: "jsonpatch \(op) operation does not apply: index out of range: \(token)")
                }
                current = array[index]
            default:
                throw Failure(
                    message:
                        "jsonpatch \(op) operation does not apply: doc is missing path: /\(pointer.joined(separator: "/"))"
                )
            }
        }
        return current
    }

    private static func add(_ document: JSONValue, _ pointer: [String], _ value: JSONValue) throws(Failure) -> JSONValue
    {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var object):
            if rest.isEmpty {
                object[token] = value
            } else {
                guard let child = object[token] else {
                    throw Failure(message: "jsonpatch add operation does not apply: doc is missing path: \(token)")
                }
                object[token] = try add(child, rest, value)
            }
            return .object(object)
        case .array(var array):
            if rest.isEmpty {
                if token == "-" {
                    array.append(value)
                } else if let index = Int(token), index >= 0, index <= array.count {
                    array.insert(value, at: index)
                } else {
                    throw Failure(message: "jsonpatch add operation does not apply: index out of range: \(token)")
                }
            } else {
                guard let index = Int(token), array.indices.contains(index) else {
                    throw Failure(message: "jsonpatch add operation does not apply: index out of range: \(token)")
                }
                array[index] = try add(array[index], rest, value)
            }
            return .array(array)
        default:
            throw Failure(message: "jsonpatch add operation does not apply: doc is missing path: \(token)")
        }
    }

    private static func remove(
        _ document: JSONValue, _ pointer: [String], op: String
    ) throws(Failure) -> (document: JSONValue, removed: JSONValue) {
        guard let token = pointer.first else { throw Failure(message: "jsonpatch \(op): cannot remove the root") }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var object):
            guard let child = object[token] else {
                throw Failure(message: "jsonpatch \(op) operation does not apply: doc is missing key: \(token)")
            }
            if rest.isEmpty {
                object[token] = nil
                return (.object(object), child)
            }
            let (updated, removed) = try remove(child, rest, op: op)
            object[token] = updated
            return (.object(object), removed)
        case .array(var array):
            guard let index = Int(token), array.indices.contains(index) else {
                throw Failure(message: "jsonpatch \(op) operation does not apply: index out of range: \(token)")
            }
            if rest.isEmpty {
                let removed = array.remove(at: index)
                return (.array(array), removed)
            }
            let (updated, removed) = try remove(array[index], rest, op: op)
            array[index] = updated
            return (.array(array), removed)
        default:
            throw Failure(message: "jsonpatch \(op) operation does not apply: doc is missing path: \(token)")
        }
    }

    // MARK: Strategic merge patch

    /// Applies a strategic merge patch: a merge patch in which known lists merge by a key instead of being replaced,
    /// with the directives kubectl sends (`$patch: replace|delete|merge`, `$setElementOrder/<list>`, `$retainKeys`,
    /// `$deleteFromPrimitiveList/<list>`).
    ///
    /// The list merge keys come from the core types (`containers` by `name`, a Service's `ports` by `port`, a
    /// container's `ports` by `containerPort`, …); every other list is replaced, as for a custom resource.
    static func strategicMergePatch(_ target: JSONValue, _ patch: JSONValue) throws(Failure) -> JSONValue {
        try strategicMerge(target, patch, path: [])
    }

    /// The merge key of the list at `path` (field names, `[]` for list elements), or nil when it is replaced.
    static func mergeKey(path: [String]) -> String? {
        guard let field = path.last else { return nil }
        let parent = path.dropLast().last
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets",
            "resourceClaims", "schedulingGates":
            return "name"
        case "volumeMounts": return "mountPath"
        case "volumeDevices": return "devicePath"
        case "hostAliases": return "ip"
        case "conditions", "addresses": return "type"
        case "taints": return "key"
        case "ownerReferences": return "uid"
        case "resizePolicy": return "resourceName"
        case "ports":
            // Inside a container (…containers.[]…ports) the key is containerPort; a Service's spec.ports by port.
            if parent == "[]" { return "containerPort" }
            if path == ["spec", "ports"] { return "port" }
            return nil
        default: return nil
        }
    }

    /// Lists of scalars whose strategy is "merge" (union) rather than replace.
    private static func isMergedPrimitiveList(path: [String]) -> Bool {
        path == ["metadata", "finalizers"]
    }

    private static func strategicMerge(_ target: JSONValue, _ patch: JSONValue, path: [String]) throws(Failure)
        -> JSONValue
    {
        guard case .object(var patchObject) = patch else { return patch }
        if let directive = patchObject["$patch"]?.stringValue {
            patchObject["$patch"] = nil
            switch directive {
            case "replace": return stripDirectives(.object(patchObject))
            case "delete": return .null
            case "merge": break
            default:
                throw Failure(message: "unknown patch type: \(directive) in map: \(JSONCoding.encodeString(patch))")
            }
        }
        var result = target.objectValue ?? [:]
        var retainKeys: [String]?
        var orders: [String: [JSONValue]] = [:]
        for (key, value) in patchObject {
            if key == "$retainKeys" {
                retainKeys = value.arrayValue?.compactMap(\.stringValue)
                continue
            }
            if key.hasPrefix("$setElementOrder/") {
                orders[String(key.dropFirst("$setElementOrder/".count))] = value.arrayValue ?? []
                continue
            }
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let remove = value.arrayValue ?? []
                if let list = result[field]?.arrayValue {
                    result[field] = .array(list.filter { !remove.contains($0) })
                }
                continue
            }
            if value == .null {
                result[key] = nil
                continue
            }
            let childPath = path + [key]
            switch value {
            case .object:
                let merged = try strategicMerge(result[key] ?? .null, value, path: childPath)
                result[key] = merged == .null ? nil : merged
            case .array(let items):
                result[key] = try mergeList(result[key]?.arrayValue, items, path: childPath)
            default:
                result[key] = value
            }
        }
        for (field, order) in orders {
            guard let list = result[field]?.arrayValue else { continue }
            result[field] = .array(applyOrder(list, order, key: mergeKey(path: path + [field])))
        }
        if let retainKeys {
            result = result.filter { retainKeys.contains($0.key) }
        }
        return .object(result)
    }

    private static func mergeList(_ original: [JSONValue]?, _ patch: [JSONValue], path: [String]) throws(Failure)
        -> JSONValue
    {
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return stripDirectives(.array(patch.filter { $0["$patch"]?.stringValue != "replace" }))
        }
        if isMergedPrimitiveList(path: path) {
            var merged = original ?? []
            for item in patch where !merged.contains(item) { merged.append(item) }
            return .array(merged)
        }
        guard let key = mergeKey(path: path) else { return stripDirectives(.array(patch)) }
        var merged = original ?? []
        for item in patch {
            guard case .object = item else {
                merged.append(item)
                continue
            }
            let keyValue = item[key]
            let index = merged.firstIndex { $0[key] == keyValue && keyValue != nil }
            if item["$patch"]?.stringValue == "delete" {
                if let index { merged.remove(at: index) }
                continue
            }
            if let index {
                merged[index] = try strategicMerge(merged[index], item, path: path + ["[]"])
            } else {
                merged.append(try strategicMerge(.null, item, path: path + ["[]"]))
            }
        }
        return .array(merged)
    }

    private static func applyOrder(_ list: [JSONValue], _ order: [JSONValue], key: String?) -> [JSONValue] {
        func identity(_ value: JSONValue) -> JSONValue { key.flatMap { value[$0] } ?? value }
        let keys = order.map(identity)
        let ordered = keys.compactMap { wanted in list.first { identity($0) == wanted } }
        let rest = list.filter { item in !keys.contains(identity(item)) }
        return ordered + rest
    }

    private static func stripDirectives(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(object.filter { !$0.key.hasPrefix("$") }.mapValues(stripDirectives))
        case .array(let array):
            return .array(array.map(stripDirectives))
        default:
            return value
        }
    }
}

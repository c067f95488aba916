import FoundationEssentials

/// Turns nft's listing output (JSON from `nft -j`, text from `nft -a -s`) into model values. Shared by the
/// backends that talk to real nft.
enum NFTListing {
    /// A parsed JSON value of nft's output.
    indirect enum JSON: Decodable, Equatable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case array([JSON])
        case object([String: JSON])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int.self) {
                self = .int(value)
            } else if let value = try? container.decode(Double.self) {
                self = .double(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([JSON].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: JSON].self))
            }
        }

        subscript(key: String) -> JSON? {
            if case .object(let object) = self { return object[key] }
            return nil
        }

        var string: String? {
            if case .string(let value) = self { return value }
            return nil
        }

        var int: Int? {
            switch self {
            case .int(let value): value
            case .double(let value): Int(value)
            default: nil
            }
        }
    }

    /// The objects of `{"nftables": [ {...}, ... ]}`.
    static func objects(_ output: String, operation: String) throws -> [JSON] {
        do {
            let root = try JSONDecoder().decode(JSON.self, from: Data(output.utf8))
            guard case .array(let items)? = root["nftables"] else {
                throw NFTablesError(code: .invalidOutput, operation: operation, message: "no nftables array in output")
            }
            return items
        } catch let error as NFTablesError {
            throw error
        } catch {
            throw NFTablesError(
                code: .invalidOutput, operation: operation, message: "cannot decode nft's JSON: \(error)",
                details: String(output.prefix(500)))
        }
    }

    /// Tables of `nft -j list tables`.
    static func tableNames(_ output: String, operation: String) throws -> [(family: Family, name: String)] {
        var result: [(family: Family, name: String)] = []
        for item in try objects(output, operation: operation) {
            guard let table = item["table"], let name = table["name"]?.string,
                let family = table["family"]?.string.flatMap(Family.init(rawValue:))
            else { continue }
            result.append((family, name))
        }
        return result
    }

    /// Elements of `nft -j list set|map …`, keys and values in nft's text form.
    static func elements(
        _ output: String, family: Family, table: String, set: String, operation: String
    ) throws -> [Element] {
        var result: [Element] = []
        for item in try objects(output, operation: operation) {
            guard let body = item["set"] ?? item["map"] else { continue }
            guard case .array(let elems)? = body["elem"] else { continue }
            for elem in elems {
                var keyJSON = elem
                var valueJSON: JSON? = nil
                if case .array(let pair) = elem, pair.count == 2 {
                    keyJSON = pair[0]
                    valueJSON = pair[1]
                }
                var element = Element(family: family, table: table, set: set, key: "")
                if let wrapped = keyJSON["elem"] {
                    element.key = text(wrapped["val"] ?? .null)
                    element.comment = wrapped["comment"]?.string
                    if let seconds = wrapped["timeout"]?.int { element.timeout = NFTText.duration(seconds: seconds) }
                } else {
                    element.key = text(keyJSON)
                }
                if let valueJSON { element.value = text(valueJSON) }
                result.append(element)
            }
        }
        return result
    }

    /// A JSON expression of a set element as nft writes it in text.
    static func text(_ value: JSON) -> String {
        switch value {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .array(let items): return "{ " + items.map(text).joined(separator: ", ") + " }"
        case .object(let object):
            guard object.count == 1, let (key, inner) = object.first else {
                return object.keys.sorted().joined(separator: " ")
            }
            switch key {
            case "concat":
                if case .array(let parts) = inner { return parts.map(text).joined(separator: " . ") }
            case "prefix":
                return "\(text(inner["addr"] ?? .null))/\(text(inner["len"] ?? .null))"
            case "range":
                if case .array(let bounds) = inner, bounds.count == 2 { return "\(text(bounds[0]))-\(text(bounds[1]))" }
            case "jump", "goto":
                return "\(key) \(inner["target"]?.string ?? "")"
            case "elem":
                return text(inner["val"] ?? .null)
            case "set":
                if case .array = inner { return text(inner) }
                return "{ \(text(inner)) }"
            default:
                // Verdicts without argument: {"accept": null}, {"drop": null}, {"continue": null}, {"return": null}.
                if inner == .null { return key }
            }
            return key
        }
    }

    /// Rules of `nft -a -s list chain …` (text): each rule is one line ending in `# handle N`.
    static func rules(_ output: String, family: Family, table: String, chain: String) -> [Rule] {
        var result: [Rule] = []
        for rawLine in output.split(separator: "\n") {
            let line = rawLine.trimmingWhitespace()
            guard let marker = line.lastRange(of: " # handle "),
                let handle = Int(line[marker.upperBound...]),
                !line.hasPrefix("chain "), !line.hasPrefix("table ")
            else { continue }
            var body = String(line[..<marker.lowerBound])
            var comment: String? = nil
            // A rule's comment is its last statement; nft's strings cannot contain '"'.
            let padded = " " + body
            if padded.hasSuffix("\""), let start = padded.lastRange(of: " comment \""),
                start.upperBound < padded.endIndex
            {
                let text = padded[start.upperBound..<padded.index(before: padded.endIndex)]
                if !text.contains("\"") {
                    comment = String(text)
                    body =
                        start.lowerBound == padded.startIndex
                        ? "" : String(padded[padded.index(after: padded.startIndex)..<start.lowerBound])
                }
            }
            result.append(
                Rule(family: family, table: table, chain: chain, body: body, comment: comment, handle: handle))
        }
        return result
    }
}

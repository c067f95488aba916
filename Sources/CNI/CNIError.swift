import FoundationEssentials
import WeftNet

/// A CNI error as the spec defines it (SPEC.md, "Error"): printed to stdout as JSON with a non-zero exit.
public struct CNIError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Well-known error codes. 1–99 are reserved by the spec; 100 and up are Weft's own.
    public enum Code: UInt32, Sendable {
        case incompatibleVersion = 1
        case unsupportedField = 2
        case containerUnknown = 3
        case invalidEnvironment = 4
        case ioFailure = 5
        case decodeFailure = 6
        case invalidConfig = 7
        case tryAgainLater = 11
        case pluginNotAvailable = 50
        case pluginNotAvailableLimitedConnectivity = 51
        /// No address is left in a range set, or a requested address is taken.
        case addressUnavailable = 100
        /// A netlink (kernel) operation failed.
        case kernel = 101
        /// An nftables transaction failed.
        case nftables = 102
        /// A delegated plugin failed without a CNI error of its own.
        case delegateFailed = 103
        /// CHECK found the container's network differs from what ADD made.
        case checkFailed = 104
    }

    public var code: UInt32
    public var msg: String
    public var details: String?

    public init(_ code: Code, _ msg: String, details: String? = nil) {
        self.code = code.rawValue
        self.msg = msg
        self.details = details
    }

    public init(rawCode: UInt32, msg: String, details: String?) {
        self.code = rawCode
        self.msg = msg
        self.details = details
    }

    public var description: String {
        "CNI error \(code): \(msg)" + (details.map { " (\($0))" } ?? "")
    }

    /// The error JSON for stdout.
    public func json(cniVersion: String) -> [UInt8] {
        var o: [String: JSONValue] = [
            "cniVersion": .string(cniVersion), "code": .number(Double(code)), "msg": .string(msg),
        ]
        if let details { o["details"] = .string(details) }
        return JSONCoding.encode(JSONValue.object(o))
    }
}

/// JSON helpers with the settings CNI output uses (sorted keys, no escaped slashes).
public enum JSONCoding {
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? e.encode(value)) ?? Data("{}".utf8))
    }

    /// Decodes JSON, turning decoding failures into CNI error 6 naming the problem.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw CNIError(.decodeFailure, "cannot decode \(what): \(describe(error))")
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.decodeFailure, "cannot decode \(what): \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at '\(p)'"
        }
        switch error {
        case .dataCorrupted(let c):
            let underlying = c.underlyingError.map { ": \($0)" } ?? ""
            return c.debugDescription + path(c) + underlying
        case .keyNotFound(let k, let c): return "missing key '\(k.stringValue)'" + path(c)
        case .typeMismatch(let t, let c): return "expected \(t)" + path(c)
        case .valueNotFound(let t, let c): return "missing \(t) value" + path(c)
        @unknown default: return "\(error)"
        }
    }
}

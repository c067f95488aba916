/// A value that is a JSON number or a string (Kubernetes `intstr.IntOrString`), e.g. a Service's `targetPort`
/// (`8080` or `"http"`) or a NetworkPolicy port.
public enum IntOrString: Codable, Sendable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral
{
    case int(Int)
    case string(String)

    public init(integerLiteral value: Int) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            throw DecodingError.typeMismatch(
                IntOrString.self,
                .init(codingPath: decoder.codingPath, debugDescription: "expected an integer or a string"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .string(let s): try c.encode(s)
        }
    }

    /// The number, if this is `.int`.
    public var intValue: Int? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The string, if this is `.string`.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var description: String {
        switch self {
        case .int(let i): String(i)
        case .string(let s): s
        }
    }
}

/// A port's protocol (`TCP`, `UDP`, `SCTP`). Open: a value Weft does not know decodes and encodes unchanged.
public struct PortProtocol: RawRepresentable, Codable, Sendable, Hashable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public static let tcp = PortProtocol(rawValue: "TCP")
    public static let udp = PortProtocol(rawValue: "UDP")
    public static let sctp = PortProtocol(rawValue: "SCTP")

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }
}

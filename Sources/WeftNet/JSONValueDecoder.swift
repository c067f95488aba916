/// Decodes `Decodable` types from a parsed `JSONValue` tree: `JSONValueDecoder().decode(T.self, from: value)`.
///
/// Together with `JSONValue(parsing:)` it replaces `JSONDecoder` on hot paths (API responses, watch events,
/// stored objects): no second pass over the text, and a `JSONValue` field (the unknown fields every Kubernetes type
/// keeps) is taken over as it is instead of being re-decoded by trial and error. Numbers decode into any integer
/// type when they are integral and in range, as `JSONDecoder` does; errors are the same `DecodingError`s with the
/// coding path.
public struct JSONValueDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        if T.self == JSONValue.self, let value = value as? T { return value }
        return try T(from: ValueDecoder(value: value, codingPath: []))
    }
}

/// What `JSONValue.init(from:)` looks for to take the value over without decoding it again.
protocol JSONValueBackedDecoder {
    var backingValue: JSONValue { get }
}

private struct ValueDecoder: Decoder, JSONValueBackedDecoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var backingValue: JSONValue { value }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw mismatch([String: JSONValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let array) = value else { throw mismatch([JSONValue].self, value, codingPath) }
        return UnkeyedContainer(array: array, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }
}

private func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
    let found =
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    return .typeMismatch(type, .init(codingPath: path, debugDescription: "Expected \(type) but found \(found)."))
}

/// The scalar conversions shared by the three container kinds.
private func decodeScalar<T>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
    switch (type, value) {
    case (is Bool.Type, .bool(let b)): return b as! T
    case (is String.Type, .string(let s)): return s as! T
    case (is Double.Type, .number(let n)): return n as! T
    case (is Float.Type, .number(let n)): return Float(n) as! T
    default: break
    }
    guard case .number(let n) = value else { throw mismatch(type, value, path) }
    func exact<I: FixedWidthInteger>(_ i: I.Type) throws -> I {
        guard let v = I(exactly: n) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: path, debugDescription: "Number \(n) is not representable in \(I.self)."))
        }
        return v
    }
    switch type {
    case is Int.Type: return try exact(Int.self) as! T
    case is Int8.Type: return try exact(Int8.self) as! T
    case is Int16.Type: return try exact(Int16.self) as! T
    case is Int32.Type: return try exact(Int32.self) as! T
    case is Int64.Type: return try exact(Int64.self) as! T
    case is UInt.Type: return try exact(UInt.self) as! T
    case is UInt8.Type: return try exact(UInt8.self) as! T
    case is UInt16.Type: return try exact(UInt16.self) as! T
    case is UInt32.Type: return try exact(UInt32.self) as! T
    case is UInt64.Type: return try exact(UInt64.self) as! T
    default: throw mismatch(type, value, path)
    }
}

private func decodeValue<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
    if T.self == JSONValue.self { return value as! T }
    return try T(from: ValueDecoder(value: value, codingPath: path))
}

private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                .init(
                    codingPath: codingPath,
                    debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try decodeScalar(type, value(key), codingPath + [key])
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, value(key), codingPath + [key])
    }

    /// `decodeIfPresent` treats null as absent, as `JSONDecoder` does.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = object[key.stringValue], value != .null else { return nil }
        return try decodeValue(type, value, codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let array: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(array: [JSONValue], codingPath: [any CodingKey]) {
        self.array = array
        self.codingPath = codingPath
    }

    var count: Int? { array.count }
    var isAtEnd: Bool { currentIndex >= array.count }

    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath, debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return (array[currentIndex], codingPath + [IndexKey(intValue: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, array[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next(type)
        switch type {
        case is Bool.Type, is String.Type, is Double.Type, is Int.Type, is Int64.Type:
            return try decodeScalar(type, value, path)
        default:
            return try decodeValue(type, value, path)
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next([String: JSONValue].self)
        return try ValueDecoder(value: value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next([JSONValue].self)
        return try ValueDecoder(value: value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next(JSONValue.self)
        return ValueDecoder(value: value, codingPath: path)
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeScalar(type, value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try decodeScalar(type, value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try decodeScalar(type, value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try decodeScalar(type, value, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try decodeScalar(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeScalar(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeScalar(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeScalar(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeScalar(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeScalar(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeScalar(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeScalar(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeScalar(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeScalar(type, value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type, value, codingPath) }
}

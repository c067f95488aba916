/// Reads the protobuf wire format (https://protobuf.dev/programming-guides/encoding/): a sequence of fields, each a
/// varint key (`fieldNumber << 3 | wireType`) followed by a varint, 8 bytes, a varint length and that many bytes, or
/// 4 bytes. Groups (wire types 3 and 4), which Kubernetes' gogo-generated messages never use, are rejected.
struct ProtobufReader {
    /// The encodings a field's value can have on the wire.
    enum WireType: UInt8, Sendable {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// One field's value as found on the wire; what it means is up to the message's schema.
    enum Value: Equatable, Sendable {
        case varint(UInt64)
        case fixed64(UInt64)
        case lengthDelimited(ArraySlice<UInt8>)
        case fixed32(UInt32)

        var wireType: WireType {
            switch self {
            case .varint: .varint
            case .fixed64: .fixed64
            case .lengthDelimited: .lengthDelimited
            case .fixed32: .fixed32
            }
        }
    }

    /// A field: its number and its value.
    struct Field: Equatable, Sendable {
        var number: Int
        var value: Value
    }

    /// Why bytes are not a well-formed protobuf message.
    enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The input ends inside a key or a value.
        case truncated(offset: Int)
        /// A varint longer than 10 bytes, or whose 10th byte sets bits beyond 64.
        case overlongVarint(offset: Int)
        /// A wire type other than 0, 1, 2 or 5.
        case unsupportedWireType(UInt8, offset: Int)
        /// Field number 0 or beyond 2^29 - 1.
        case invalidFieldNumber(UInt64, offset: Int)

        var description: String {
            switch self {
            case .truncated(let offset): "truncated protobuf message at byte \(offset)"
            case .overlongVarint(let offset): "overlong varint at byte \(offset)"
            case .unsupportedWireType(let type, let offset): "unsupported protobuf wire type \(type) at byte \(offset)"
            case .invalidFieldNumber(let number, let offset):
                "invalid protobuf field number \(number) at byte \(offset)"
            }
        }
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    /// The offset of the next byte to read, from the start of the bytes given to `init`.
    private var offset: Int { position - bytes.startIndex }

    /// The next field, or nil at the end of the input.
    mutating func next() throws(Error) -> Field? {
        guard position < bytes.endIndex else { return nil }
        let keyOffset = offset
        let key = try readVarint()
        let number = key >> 3
        guard number > 0, number <= 0x1FFF_FFFF else { throw .invalidFieldNumber(number, offset: keyOffset) }
        let value: Value
        switch WireType(rawValue: UInt8(key & 7)) {
        case .varint: value = .varint(try readVarint())
        case .fixed64: value = .fixed64(try readLittleEndian(8))
        case .lengthDelimited:
            let lengthOffset = offset
            let length = try readVarint()
            guard length <= UInt64(bytes.endIndex - position) else { throw .truncated(offset: lengthOffset) }
            value = .lengthDelimited(bytes[position..<position + Int(length)])
            position += Int(length)
        case .fixed32: value = .fixed32(UInt32(try readLittleEndian(4)))
        case nil: throw .unsupportedWireType(UInt8(key & 7), offset: keyOffset)
        }
        return Field(number: Int(number), value: value)
    }

    /// A base-128 varint of at most 10 bytes, least significant group first.
    private mutating func readVarint() throws(Error) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        for index in 0..<10 {
            guard position < bytes.endIndex else { throw .truncated(offset: start) }
            let byte = bytes[position]
            position += 1
            // The 10th byte holds bit 63 only.
            if index == 9 && byte > 1 { throw .overlongVarint(offset: start) }
            result |= UInt64(byte & 0x7F) << (7 * UInt64(index))
            if byte < 0x80 { return result }
        }
        throw .overlongVarint(offset: start)
    }

    private mutating func readLittleEndian(_ count: Int) throws(Error) -> UInt64 {
        guard bytes.endIndex - position >= count else { throw .truncated(offset: offset) }
        var result: UInt64 = 0
        for index in 0..<count { result |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += count
        return result
    }
}

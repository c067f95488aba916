/// Writes the protobuf wire format that `ProtobufReader` reads: each field a varint key (`fieldNumber << 3 |
/// wireType`) and its value. Only what the server sends needs: varints (bools) and length-delimited values (strings
/// and nested messages). The caller decides which fields to write; nothing is skipped for being empty.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    /// A base-128 varint, least significant group first.
    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func key(_ number: Int, _ wireType: ProtobufReader.WireType) {
        varint(UInt64(number) << 3 | UInt64(wireType.rawValue))
    }

    /// A `bool` field (a varint 0 or 1).
    mutating func bool(_ number: Int, _ value: Bool) {
        key(number, .varint)
        varint(value ? 1 : 0)
    }

    /// A `string` or `bytes` field: its length, then its bytes.
    mutating func lengthDelimited(_ number: Int, _ value: some Collection<UInt8>) {
        key(number, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field in UTF-8.
    mutating func string(_ number: Int, _ value: String) {
        lengthDelimited(number, Array(value.utf8))
    }

    /// A message field whose content `body` writes.
    mutating func message(_ number: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        lengthDelimited(number, nested.bytes)
    }
}

import Testing

@testable import APIServer

@Suite("protobuf wire reader")
struct ProtobufReaderTests {
    typealias Field = ProtobufReader.Field

    static func fields(_ bytes: [UInt8]) throws -> [Field] {
        var reader = ProtobufReader(bytes[...])
        var fields: [Field] = []
        while let field = try reader.next() { fields.append(field) }
        return fields
    }

    static func error(_ bytes: [UInt8]) -> ProtobufReader.Error? {
        do {
            _ = try fields(bytes)
            return nil
        } catch {
            return error as? ProtobufReader.Error
        }
    }

    @Test func varints() throws {
        // 150 is the protobuf documentation's example: 96 01.
        #expect(try Self.fields([0x08, 0x96, 0x01]) == [Field(number: 1, value: .varint(150))])
        #expect(try Self.fields([0x10, 0x00]) == [Field(number: 2, value: .varint(0))])
        let max: [UInt8] = [0x18] + Array(repeating: 0xFF, count: 9) + [0x01]
        #expect(try Self.fields(max) == [Field(number: 3, value: .varint(UInt64.max))])
        // int32 -1 is sign-extended to ten bytes.
        let minusOne = try Self.fields(max)[0].value
        guard case .varint(let raw) = minusOne else { Issue.record("not a varint"); return }
        #expect(Int32(truncatingIfNeeded: raw) == -1)
    }

    @Test func fixedWidths() throws {
        #expect(
            try Self.fields([0x09, 1, 2, 3, 4, 5, 6, 7, 8])
                == [Field(number: 1, value: .fixed64(0x0807_0605_0403_0201))])
        #expect(try Self.fields([0x15, 0xEF, 0xBE, 0xAD, 0xDE]) == [Field(number: 2, value: .fixed32(0xDEAD_BEEF))])
    }

    @Test func lengthDelimited() throws {
        let bytes: [UInt8] = [0x0A, 0x03, 0x61, 0x62, 0x63, 0x12, 0x00]
        let fields = try Self.fields(bytes)
        #expect(
            fields == [
                Field(number: 1, value: .lengthDelimited(bytes[2..<5])), Field(number: 2, value: .lengthDelimited([])),
            ])
        guard case .lengthDelimited(let text) = fields[0].value else { return }
        #expect(String(decoding: text, as: UTF8.self) == "abc")
    }

    @Test func keysSpanningBytes() throws {
        // Field 20, wire type 2 (a0 01 is field 20 wire type 0): a2 01.
        #expect(try Self.fields([0xA2, 0x01, 0x00]) == [Field(number: 20, value: .lengthDelimited([]))])
        // The largest field number, 2^29 - 1.
        #expect(
            try Self.fields([0xF8, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]) == [Field(number: 0x1FFF_FFFF, value: .varint(1))])
    }

    @Test func sequenceAndEnd() throws {
        let bytes: [UInt8] = [0x08, 0x01, 0x12, 0x01, 0x78, 0x08, 0x02]
        #expect(try Self.fields(bytes).map(\.number) == [1, 2, 1])
        #expect(try Self.fields([]).isEmpty)
    }

    @Test func truncatedInput() {
        #expect(Self.error([0x80]) == .truncated(offset: 0))
        #expect(Self.error([0x08]) == .truncated(offset: 1))
        #expect(Self.error([0x08, 0x96]) == .truncated(offset: 1))
        #expect(Self.error([0x0A, 0x05, 0x61]) == .truncated(offset: 1))
        #expect(Self.error([0x0A]) == .truncated(offset: 1))
        #expect(Self.error([0x09, 1, 2, 3]) == .truncated(offset: 1))
        #expect(Self.error([0x15, 1, 2]) == .truncated(offset: 1))
        // A good field, then a cut one.
        #expect(Self.error([0x08, 0x01, 0x12, 0x02, 0x61]) == .truncated(offset: 3))
    }

    @Test func overlongVarints() {
        // Eleven bytes, and ten bytes whose last sets bits beyond 64.
        #expect(Self.error([0x08] + Array(repeating: 0x80, count: 10) + [0x00]) == .overlongVarint(offset: 1))
        #expect(Self.error([0x08] + Array(repeating: 0xFF, count: 9) + [0x02]) == .overlongVarint(offset: 1))
        // A length that does not fit in memory is truncation, not a crash.
        #expect(Self.error([0x0A] + Array(repeating: 0xFF, count: 9) + [0x01]) == .truncated(offset: 1))
    }

    @Test func invalidKeys() {
        #expect(Self.error([0x0B]) == .unsupportedWireType(3, offset: 0))
        #expect(Self.error([0x0C]) == .unsupportedWireType(4, offset: 0))
        #expect(Self.error([0x08, 0x01, 0x0E]) == .unsupportedWireType(6, offset: 2))
        #expect(Self.error([0x02, 0x00]) == .invalidFieldNumber(0, offset: 0))
        #expect(Self.error([0x80, 0x80, 0x80, 0x80, 0x10, 0x00]) == .invalidFieldNumber(0x2000_0000, offset: 0))
    }

    @Test func errorMessages() {
        #expect("\(ProtobufReader.Error.truncated(offset: 7))" == "truncated protobuf message at byte 7")
        #expect("\(ProtobufReader.Error.unsupportedWireType(3, offset: 0))".contains("wire type 3"))
    }
}

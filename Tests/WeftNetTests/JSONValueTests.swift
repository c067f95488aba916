import Foundation
import Testing
import WeftNet

/// The hand-written JSON parser and writer agree with Foundation's `JSONDecoder`/`JSONEncoder` on valid input,
/// and reject what RFC 8259 rejects.
@Suite struct JSONValueTests {
    static let documents: [String] = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"false"#, #"0"#, #"-0.5"#, #"12345678901234567"#, #"1e3"#, #"1E-3"#,
        #"-12.5e+2"#, #"  "ws"  "#, #"{"a":1,"b":[1,2,{"c":null}],"d":"x"}"#,
        #"{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"ports":[{"port":80,"targetPort":"http"}]}}"#,
        #""esc \" \\ \/ \b \f \n \r \t \u0001 \u00e9 \u20AC \ud83d\ude00 end""#, #""héllo wörld €""#,
        #"[[[[[]]]]]"#, "\n\t{ \"a\" :\r\n [ 1 , 2 ] }\n", #"0.1"#, #"3.141592653589793"#,
        #"1.7976931348623157e308"#, #"-9007199254740993"#, #"1e300"#, #"123456789012345.5"#,
    ]

    @Test(arguments: documents)
    func parsesLikeJSONDecoder(document: String) throws {
        let ours = try JSONValue(parsing: Array(document.utf8))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
        #expect(ours == foundation)
        #expect(try JSONValue(parsing: document) == ours)
    }

    @Test(arguments: documents)
    func writesLikeJSONEncoder(document: String) throws {
        let value = try JSONValue(parsing: document)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(value.serializedString == String(decoding: try encoder.encode(value), as: UTF8.self))
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test func escapesControlCharactersAndKeepsUnicode() throws {
        let value = JSONValue.object(["k\"ey": .string("a\u{1}b\n\"\\/é😀")])
        #expect(value.serializedString == #"{"k\"ey":"a\u0001b\n\"\\/é😀"}"#)
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        #expect(try JSONValue(parsing: #""\ud800x""#) == .string("\u{FFFD}x"))
        #expect(try JSONValue(parsing: #""\udc00""#) == .string("\u{FFFD}"))
        #expect(try JSONValue(parsing: #""\ud800\u0041""#) == .string("\u{FFFD}A"))
    }

    /// As in Go's encoding/json (kube-apiserver); Foundation keeps the first.
    @Test func lastDuplicateKeyWins() throws {
        #expect(try JSONValue(parsing: #"{"a":1,"a":2}"#) == .object(["a": .number(2)]))
    }

    @Test(arguments: [
        ("", "unexpected end of input", 0) as (String, String, Int), ("{", "unexpected end of input in an object", 1),
        (#"{"a" 1}"#, "expected ':' after an object key", 5), (#"{"a":1,}"#, "expected a string key", 7),
        (#"[1,]"#, "unexpected character ']'", 3), (#"[1 2]"#, "expected ',' or ']' in an array, found '2'", 3),
        (#"{"a":1}x"#, "unexpected character 'x' after the value", 7), ("01", "invalid number: leading zero", 1),
        ("1.", "invalid number: expected a digit after '.'", 2), ("-", "invalid number: expected a digit", 1),
        ("1e", "invalid number: expected a digit in the exponent", 2), ("tru", "invalid literal, expected true", 0),
        ("nul", "invalid literal, expected null", 0), (#""abc"#, "unexpected end of input in a string", 4),
        (#""a\x""#, "invalid escape 'x' in a string", 3), (#""\u12g4""#, #"invalid hex digit 'g' in a \u escape"#, 5),
        ("\"a\u{1}\"", "invalid control character in a string", 2), ("'a'", "unexpected character '''", 0),
        ("NaN", "unexpected character 'N'", 0), ("{\"a\":1}}", "unexpected character '}' after the value", 7),
    ])
    func rejectsMalformed(input: String, message: String, offset: Int) {
        #expect(throws: JSONParseError(message: message, offset: offset)) { try JSONValue(parsing: input) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError(message: "invalid UTF-8 in a string", offset: 1)) {
            try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22])
        }
        #expect(throws: JSONParseError(message: "invalid UTF-8 in a string", offset: 1)) {
            try JSONValue(parsing: [0x22, 0x5C, 0x6E, 0xFF, 0x22])
        }
    }

    @Test func boundsNesting() throws {
        let depth = JSONValue.maximumParsingDepth
        let deepest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        _ = try JSONValue(parsing: deepest)
        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        #expect(throws: JSONParseError(message: "nesting deeper than \(depth) levels", offset: depth)) {
            try JSONValue(parsing: tooDeep)
        }
        // A million brackets fail cleanly instead of overflowing the stack.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: String(repeating: "{\"a\":", count: 1_000_000)) }
    }

    /// Random values written by our writer parse back to themselves, and Foundation reads the same value.
    @Test func randomRoundTrips() throws {
        var generator = SplitMix(seed: 42)
        for _ in 0..<300 {
            let value = Self.randomValue(&generator, depth: 0)
            let text = value.serialized()
            #expect(try JSONValue(parsing: text) == value)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text)) == value)
        }
    }

    static func randomValue(_ g: inout SplitMix, depth: Int) -> JSONValue {
        switch g.next() % (depth > 3 ? 4 : 6) {
        case 0: return .null
        case 1: return .bool(g.next() % 2 == 0)
        case 2:
            let n = Double(Int64(bitPattern: g.next()) % 1_000_000)
            return .number(g.next() % 3 == 0 ? n / 8 : n)
        case 3: return .string(randomString(&g))
        case 4: return .array((0..<Int(g.next() % 5)).map { _ in randomValue(&g, depth: depth + 1) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int(g.next() % 5) { object[randomString(&g)] = randomValue(&g, depth: depth + 1) }
            return .object(object)
        }
    }

    static func randomString(_ g: inout SplitMix) -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\u{1}", "\u{7f}", "é", "€", "😀"]
        return String((0..<Int(g.next() % 8)).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
    }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

import Testing

@testable import KubeClient

@Suite("watch stream framing")
struct JSONFramerTests {
    /// Tricky on purpose: braces and escaped quotes inside strings, nested arrays, non-ASCII text.
    static let events = [
        #"{"type":"ADDED","object":{"metadata":{"name":"a"},"data":{"k":"}{\"]["}}}"#,
        #"{"type":"MODIFIED","object":{"metadata":{"name":"b"},"data":{"x":"\\","y":"ünï ☃"},"l":[[1],[{}]]}}"#,
        #"{"type":"DELETED","object":{"metadata":{"name":"c"}}}"#,
    ]

    static var stream: [UInt8] { Array(events.joined(separator: "\n").utf8) + [UInt8(ascii: "\n")] }

    @Test func everySingleSplitPosition() throws {
        let bytes = Self.stream
        for cut in 0...bytes.count {
            var framer = JSONFramer()
            var frames = try framer.append(bytes[..<cut])
            frames += try framer.append(bytes[cut...])
            #expect(frames.map { String(decoding: $0, as: UTF8.self) } == Self.events, "cut at \(cut)")
            #expect(!framer.hasPartialFrame)
        }
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func fixedSizePieces(size: Int) throws {
        let bytes = Self.stream
        var framer = JSONFramer()
        var frames: [[UInt8]] = []
        for start in stride(from: 0, to: bytes.count, by: size) {
            frames += try framer.append(bytes[start..<min(start + size, bytes.count)])
        }
        #expect(frames.map { String(decoding: $0, as: UTF8.self) } == Self.events)
    }

    @Test func concatenatedWithoutNewlinesAndPartialTail() throws {
        var framer = JSONFramer()
        let frames = try framer.append(Array((Self.events.joined() + #"{"type":"ADD"#).utf8))
        #expect(frames.count == 3)
        #expect(framer.hasPartialFrame)
    }

    @Test func garbageBetweenEventsIsAnError() {
        var framer = JSONFramer()
        #expect(throws: WatchError.self) { try framer.append(Array("{}\nnot json".utf8)) }
    }
}

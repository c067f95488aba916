/// Splits a byte stream of concatenated JSON objects (newline-delimited or not) into one frame per top-level
/// object, however the stream was cut into chunks: an object may be split anywhere, several may arrive in one chunk.
///
/// Scanning is incremental: each byte is looked at once, with the string/escape/depth state kept across chunks.
struct JSONFramer: Sendable {
    private var buffer: [UInt8] = []
    private var scanned = 0
    private var frameStart: Int?
    private var depth = 0
    private var inString = false
    private var escaped = false

    /// Whether bytes of an unfinished object are buffered.
    var hasPartialFrame: Bool { frameStart != nil }

    /// Adds a chunk and returns the objects it completed, in order.
    mutating func append(_ chunk: some Sequence<UInt8>) throws(WatchError) -> [[UInt8]] {
        buffer.append(contentsOf: chunk)
        var frames: [[UInt8]] = []
        var i = scanned
        while i < buffer.count {
            let b = buffer[i]
            if let start = frameStart {
                if inString {
                    if escaped {
                        escaped = false
                    } else if b == UInt8(ascii: "\\") {
                        escaped = true
                    } else if b == UInt8(ascii: "\"") {
                        inString = false
                    }
                } else if b == UInt8(ascii: "\"") {
                    inString = true
                } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                    depth += 1
                } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        frames.append(Array(buffer[start...i]))
                        frameStart = nil
                    }
                }
            } else if b == UInt8(ascii: "{") {
                frameStart = i
                depth = 1
            } else if !(b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09) {
                throw .malformedEvent("unexpected byte 0x\(String(b, radix: 16)) between events")
            }
            i += 1
        }
        // Drop what has been consumed.
        let keepFrom = frameStart ?? buffer.count
        if keepFrom > 0 {
            buffer.removeFirst(keepFrom)
            if frameStart != nil { frameStart = 0 }
        }
        scanned = buffer.count
        return frames
    }
}

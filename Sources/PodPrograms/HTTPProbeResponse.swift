/// An HTTP/1.x response as `weft probe --protocol http` reads it: status, reason and body, the body de-chunked.
struct HTTPProbeResponse: Equatable {
    var status: Int
    var reason: String
    var body: [UInt8]

    private static let headerEnd: [UInt8] = Array("\r\n\r\n".utf8)
    private static let lineEnd: [UInt8] = Array("\r\n".utf8)

    /// The response in `bytes` once it is complete: by Content-Length, by the last chunk, or (without either) at the
    /// end of the stream. Nil while more bytes are needed; throws on a malformed or truncated response.
    static func parse(_ bytes: [UInt8], atEnd: Bool) throws(ProbeFailure) -> HTTPProbeResponse? {
        guard let headEnd = bytes.firstRange(of: headerEnd) else {
            if atEnd { throw malformed(bytes.isEmpty ? "connection closed without a response" : "incomplete header") }
            return nil
        }
        let lines = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self).split(
            separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), statusLine[1].count == 3,
            let status = Int(statusLine[1])
        else { throw malformed("bad status line \"\(lines[0])\"") }
        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw malformed("bad header line \"\(line)\"") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" {
                guard let length = Int(value), length >= 0 else { throw malformed("bad Content-Length \"\(value)\"") }
                contentLength = length
            } else if name == "transfer-encoding" {
                chunked = value.lowercased().contains("chunked")
            }
        }
        let reason = statusLine.count > 2 ? String(statusLine[2]) : ""
        let rest = bytes[headEnd.upperBound...]
        let body: [UInt8]
        if status / 100 == 1 || status == 204 || status == 304 {
            body = []
        } else if chunked {
            guard let decoded = try dechunk(rest, atEnd: atEnd) else { return nil }
            body = decoded
        } else if let contentLength {
            guard rest.count >= contentLength else {
                if atEnd { throw malformed("body shorter than its Content-Length \(contentLength)") }
                return nil
            }
            body = Array(rest.prefix(contentLength))
        } else {
            guard atEnd else { return nil }
            body = Array(rest)
        }
        return HTTPProbeResponse(status: status, reason: reason, body: body)
    }

    /// The body of a chunked transfer: nil until the last (empty) chunk has arrived; trailers are ignored.
    private static func dechunk(_ bytes: ArraySlice<UInt8>, atEnd: Bool) throws(ProbeFailure) -> [UInt8]? {
        var body: [UInt8] = []
        var rest = bytes
        while let sizeEnd = rest.firstRange(of: lineEnd) {
            let sizeText = String(decoding: rest[..<sizeEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.prefix { $0 != ";" }.trimmingSpaces, radix: 16), size >= 0 else {
                throw malformed("bad chunk size \"\(sizeText)\"")
            }
            if size == 0 { return body }
            let data = rest[sizeEnd.upperBound...]
            guard data.count >= size + 2 else { break }
            body += data.prefix(size)
            rest = data.dropFirst(size + 2)
        }
        if atEnd { throw malformed("chunked body ended before its last chunk") }
        return nil
    }

    private static func malformed(_ what: String) -> ProbeFailure { .other("OTHER: malformed HTTP response: \(what)") }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Helpers for writing and checking pieces of nft's text syntax.
public enum NFTText {
    /// The longest comment nft accepts, in bytes.
    public static let maxCommentLength = 128

    /// `text` as an nft quoted string. nft's strings have no escapes: a `"` becomes `'`, control characters
    /// become spaces.
    public static func quote(_ text: String) -> String {
        "\"" + sanitizeComment(text) + "\""
    }

    /// The text nft stores for a comment written as `text` (see `quote`).
    public static func sanitizeComment(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if scalar == "\"" {
                result.unicodeScalars.append("'")
            } else if scalar.value < 0x20 || scalar.value == 0x7f {
                result.unicodeScalars.append(" ")
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// True when `name` is an nft identifier: a letter, `_` or `.`, then letters, digits, `/`, `-`, `_`, `.`;
    /// at most 255 bytes.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 255 else { return false }
        func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        guard isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ".") else { return false }
        return bytes.dropFirst().allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    static func nameProblem(_ name: String, what: String) -> String? {
        isValidName(name) ? nil : "bad \(what) name \"\(sanitizeComment(name))\""
    }

    static func commentProblem(_ comment: String?) -> String? {
        guard let comment else { return nil }
        let length = sanitizeComment(comment).utf8.count
        return length > maxCommentLength
            ? "comment is \(length) bytes, nft allows at most \(maxCommentLength): \(comment.prefix(40))…" : nil
    }

    /// A raw fragment must stay within its command: no line break, no `;` outside double quotes, balanced quotes.
    static func fragmentProblem(_ fragment: String?, what: String) -> String? {
        guard let fragment else { return nil }
        if fragment.trimmingWhitespace().isEmpty { return "empty \(what)" }
        var quoted = false
        for scalar in fragment.unicodeScalars {
            switch scalar {
            case "\n", "\r": return "\(what) contains a line break: \(fragment)"
            case "\"": quoted.toggle()
            case ";" where !quoted: return "\(what) contains ';': \(fragment)"
            case "#" where !quoted: return "\(what) contains '#': \(fragment)"
            default: break
            }
        }
        return quoted ? "\(what) has an unterminated quote: \(fragment)" : nil
    }

    /// Seconds as nft writes a duration: `1h1m1s`, `2d`, `0s`.
    public static func duration(seconds: Int) -> String {
        if seconds <= 0 { return "0s" }
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}

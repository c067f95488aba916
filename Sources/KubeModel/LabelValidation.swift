/// Name and label checks with kube-apiserver's rules and messages (k8s.io/apimachinery `validation`).
///
/// Each function returns the problems found, worded as kube-apiserver words them; an empty array means valid.
public enum LabelValidation {
    static let qualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
    static let qualifiedNameErrMsg =
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let labelValueFmt = "(\(qualifiedNameFmt))?"
    static let labelValueErrMsg =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
        + "and end with an alphanumeric character"
    static let dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123LabelErrMsg =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end "
        + "with an alphanumeric character"
    static let dns1123SubdomainFmt = "\(dns1123LabelFmt)(\\.\(dns1123LabelFmt))*"
    static let dns1123SubdomainErrMsg =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
        + "and end with an alphanumeric character"
    static let dns1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?"
    static let dns1035LabelErrMsg =
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
        + "character, and end with an alphanumeric character"

    /// A label key or annotation key: `[prefix/]name`, name ≤ 63 characters of `[-A-Za-z0-9_.]` starting and ending
    /// alphanumeric, prefix a DNS-1123 subdomain.
    public static func isQualifiedName(_ value: String) -> [String] {
        var errors: [String] = []
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = parts[0]
            name = parts[1]
            if prefix.isEmpty {
                errors.append("prefix part must be non-empty")
            } else {
                errors += isDNS1123Subdomain(String(prefix)).map { "prefix part " + $0 }
            }
        default:
            return [
                "a qualified name "
                    + regexError(qualifiedNameErrMsg, qualifiedNameFmt, ["MyName", "my.name", "123-abc"])
                    + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ]
        }
        if name.isEmpty {
            errors.append("name part must be non-empty")
        } else if name.utf8.count > 63 {
            errors.append("name part " + maxLengthError(63))
        }
        if !isQualifiedNamePart(name) {
            errors.append(
                "name part " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, ["MyName", "my.name", "123-abc"]))
        }
        return errors
    }

    /// A label value: empty, or ≤ 63 characters of `[-A-Za-z0-9_.]` starting and ending alphanumeric.
    public static func isValidLabelValue(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 63 { errors.append(maxLengthError(63)) }
        if !value.isEmpty && !isQualifiedNamePart(Substring(value)) {
            errors.append(regexError(labelValueErrMsg, labelValueFmt, ["MyValue", "my_value", "12345"]))
        }
        return errors
    }

    /// A DNS-1123 label (namespace names, most object names' parts): ≤ 63 of `[a-z0-9-]`, alphanumeric at both ends.
    public static func isDNS1123Label(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 63 { errors.append(maxLengthError(63)) }
        if !isLabel(Substring(value), firstIsLetter: false) {
            if isSubdomain(value) {
                errors.append("must not contain dots")
            } else {
                errors.append(regexError(dns1123LabelErrMsg, dns1123LabelFmt, ["my-name", "123-abc"]))
            }
        }
        return errors
    }

    /// A DNS-1123 subdomain (most object names): ≤ 253 characters, dot-separated DNS-1123 labels.
    public static func isDNS1123Subdomain(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 253 { errors.append(maxLengthError(253)) }
        if !isSubdomain(value) {
            errors.append(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, ["example.com"]))
        }
        return errors
    }

    /// A DNS-1035 label (Service names): ≤ 63 of `[a-z0-9-]`, starting with a letter, ending alphanumeric.
    public static func isDNS1035Label(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 63 { errors.append(maxLengthError(63)) }
        if !isLabel(Substring(value), firstIsLetter: true) {
            errors.append(regexError(dns1035LabelErrMsg, dns1035LabelFmt, ["my-name", "abc-123"]))
        }
        return errors
    }

    // MARK: - Character rules (the regular expressions above, without a regex engine)

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    static func isLowerAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
    static func isQualifiedNamePart(_ s: Substring) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else {
            return false
        }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, or with `[a-z]` first when `firstIsLetter`.
    static func isLabel(_ s: Substring, firstIsLetter: Bool) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last)
        else { return false }
        if firstIsLetter && !(first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    static func isSubdomain(_ s: String) -> Bool {
        s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabel($0, firstIsLetter: false) }
    }

    static func maxLengthError(_ length: Int) -> String { "must be no more than \(length) characters" }

    /// apimachinery's `RegexError`, including its spacing.
    static func regexError(_ message: String, _ format: String, _ examples: [String]) -> String {
        guard !examples.isEmpty else { return message + " (regex used for validation is '\(format)')" }
        var text = message + " (e.g. "
        for (i, example) in examples.enumerated() {
            if i > 0 { text += " or " }
            text += "'\(example)', "
        }
        return text + "regex used for validation is '\(format)')"
    }
}

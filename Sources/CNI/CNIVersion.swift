/// CNI spec versions this plugin speaks, and their ordering.
public enum CNIVersion {
    public static let current = "1.1.0"
    public static let supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    /// Parses `MAJOR.MINOR.PATCH` into a comparable tuple.
    public static func parse(_ v: String) -> (Int, Int, Int)? {
        let parts = v.split(separator: ".")
        guard parts.count == 3, let a = Int(parts[0]), let b = Int(parts[1]), let c = Int(parts[2]) else { return nil }
        return (a, b, c)
    }

    public static func isSupported(_ v: String) -> Bool { supported.contains(v) }

    /// Whether `v` is at least `minimum`.
    public static func atLeast(_ v: String, _ minimum: String) -> Bool {
        guard let a = parse(v), let b = parse(minimum) else { return false }
        return a >= b
    }

    /// Throws CNI error 1 unless the version is one we speak.
    public static func require(_ v: String) throws {
        guard isSupported(v) else {
            throw CNIError(
                .incompatibleVersion,
                "unsupported cniVersion '\(v)'; this plugin supports \(supported.joined(separator: ", "))")
        }
    }
}

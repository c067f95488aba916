import Foundation

/// Bearer-token authentication from a static token file in kube-apiserver's format (`--token-auth-file`):
/// one `token,user,uid,"group1,group2"` line per user.
public struct TokenAuthenticator: Sendable {
    /// Who a token belongs to.
    public struct User: Sendable, Hashable {
        public var name: String
        public var uid: String
        public var groups: [String]

        public init(name: String, uid: String, groups: [String]) {
            self.name = name
            self.uid = uid
            self.groups = groups
        }
    }

    private var users: [String: User]

    public init(tokens: [String: User]) { users = tokens }

    /// The user of an `Authorization` header value (`Bearer <token>`), or nil.
    public func authenticate(authorization: String?) -> User? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return users[String(parts[1]).trimmingCharacters(in: .whitespaces)]
    }

    /// Parses a token file.
    public static func parse(_ text: String, path: String = "tokens.csv") throws -> TokenAuthenticator {
        var users: [String: User] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = csvFields(line)
            guard fields.count >= 3, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw APIServerError.malformedTokenFile(path: path, line: index + 1)
            }
            let groups = fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : []
            users[fields[0]] = User(name: fields[1], uid: fields[2], groups: groups)
        }
        return TokenAuthenticator(tokens: users)
    }

    /// Renders users as a token file.
    static func render(_ entries: [(token: String, user: User)]) -> String {
        entries.map { "\($0.token),\($0.user.name),\($0.user.uid),\"\($0.user.groups.joined(separator: ","))\"" }
            .joined(separator: "\n") + "\n"
    }

    /// A random token (256 bits, hex).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Splits a CSV line, honouring double quotes.
    private static func csvFields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
            } else if character == ",", !quoted {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}

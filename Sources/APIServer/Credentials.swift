import Foundation

/// The credentials the server creates in its data directory on first start: `tokens.csv` with an admin and an agent
/// token, and a `kubeconfig` for the admin.
public struct Credentials: Sendable {
    /// The admin's bearer token (`system:masters`).
    public var adminToken: String
    /// The agent's bearer token.
    public var agentToken: String
    /// All tokens the server accepts.
    public var authenticator: TokenAuthenticator

    static let adminUser = TokenAuthenticator.User(name: "admin", uid: "admin", groups: ["system:masters"])
    static let agentUser = TokenAuthenticator.User(name: "weft-agent", uid: "weft-agent", groups: ["weft:agents"])

    /// Reads `DATADIR/tokens.csv`, creating it with fresh admin and agent tokens when missing.
    static func loadOrCreate(dataDir: String) throws -> Credentials {
        let path = dataDir + "/tokens.csv"
        if !FileManager.default.fileExists(atPath: path) {
            let text = TokenAuthenticator.render([
                (TokenAuthenticator.randomToken(), adminUser), (TokenAuthenticator.randomToken(), agentUser),
            ])
            try PKI.writeSecret(text, to: path)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let authenticator = try TokenAuthenticator.parse(text, path: path)
        var admin = ""
        var agent = ""
        for line in text.split(separator: "\n") {
            let token = String(line.prefix { $0 != "," })
            switch authenticator.authenticate(authorization: "Bearer \(token)")?.name {
            case .some(adminUser.name): admin = token
            case .some(agentUser.name): agent = token
            default: break
            }
        }
        return Credentials(adminToken: admin, agentToken: agent, authenticator: authenticator)
    }

    /// A kubeconfig for `server` with the CA (nil: plain HTTP) and a bearer token.
    public static func kubeconfig(server: String, caPEM: String?, token: String, user: String = "admin") -> String {
        var cluster = "    server: \(server)\n"
        if let caPEM {
            cluster = "    certificate-authority-data: \(Data(caPEM.utf8).base64EncodedString())\n" + cluster
        }
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: weft
              cluster:
            \(cluster)users:
            - name: \(user)
              user:
                token: \(token)
            contexts:
            - name: weft
              context:
                cluster: weft
                user: \(user)
                namespace: default
            current-context: weft
            preferences: {}

            """
    }
}

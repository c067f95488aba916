/// The verbs of SPEC.md "Section 2: Execution Protocol".
public enum CNICommand: String, Sendable {
    case add = "ADD"
    case del = "DEL"
    case check = "CHECK"
    case version = "VERSION"
    case status = "STATUS"
    case gc = "GC"
}

/// The CNI_* environment a runtime sets for one invocation.
public struct CNIEnvironment: Sendable {
    public var command: CNICommand
    public var containerID: String = ""
    public var netns: String = ""
    public var ifname: String = ""
    public var args: [String: String] = [:]
    public var path: [String] = []
    /// Everything else the runtime set, passed through to delegated plugins.
    public var all: [String: String]

    /// Reads and checks the variables the command needs; a missing or malformed one is CNI error 4.
    public init(_ env: [String: String]) throws {
        all = env
        guard let c = env["CNI_COMMAND"], !c.isEmpty else {
            throw CNIError(.invalidEnvironment, "CNI_COMMAND is not set")
        }
        guard let cmd = CNICommand(rawValue: c) else {
            throw CNIError(.invalidEnvironment, "CNI_COMMAND '\(c)' is not one of ADD, DEL, CHECK, VERSION, STATUS, GC")
        }
        command = cmd
        path = (env["CNI_PATH"] ?? "").split(separator: ":").map(String.init)
        for pair in (env["CNI_ARGS"] ?? "").split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else {
                throw CNIError(.invalidEnvironment, "CNI_ARGS entry '\(pair)' is not KEY=VALUE")
            }
            args[String(kv[0])] = String(kv[1])
        }
        switch cmd {
        case .add, .del, .check:
            guard let id = env["CNI_CONTAINERID"], !id.isEmpty else {
                throw CNIError(.invalidEnvironment, "CNI_CONTAINERID is not set")
            }
            guard id.utf8.count <= 512,
                id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else {
                throw CNIError(.invalidEnvironment, "CNI_CONTAINERID '\(id)' must be alphanumeric with '-', '_' or '.'")
            }
            containerID = id
            guard let ifn = env["CNI_IFNAME"], !ifn.isEmpty else {
                throw CNIError(.invalidEnvironment, "CNI_IFNAME is not set")
            }
            try InterfaceName.validate(ifn, what: "CNI_IFNAME", code: .invalidEnvironment)
            ifname = ifn
            netns = env["CNI_NETNS"] ?? ""
            if cmd != .del && netns.isEmpty {
                throw CNIError(.invalidEnvironment, "CNI_NETNS is not set")
            }
        case .version, .status, .gc:
            break
        }
    }
}

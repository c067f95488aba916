import Glibc
import NFTables
import WeftNet

/// Runs another CNI plugin found in CNI_PATH, as SPEC.md "Section 4: Plugin Delegation" describes: same
/// environment but the command, the same configuration on stdin; a CNI error it prints is passed on unchanged.
struct Delegation {
    let env: CNIEnvironment

    func find(_ type: String) throws -> String {
        guard !type.contains("/") else { throw CNIError(.invalidConfig, "plugin type '\(type)' must not contain '/'") }
        for dir in env.path where access(dir + "/" + type, X_OK) == 0 {
            return dir + "/" + type
        }
        throw CNIError(.invalidConfig, "plugin '\(type)' not found in CNI_PATH (\(env.path.joined(separator: ":")))")
    }

    /// Runs `type` with `command` and returns its stdout (empty for DEL, CHECK, GC and STATUS).
    @discardableResult
    func run(_ type: String, _ command: CNICommand, config: [UInt8]) throws -> [UInt8] {
        let path = try find(type)
        var environment = env.all
        environment["CNI_COMMAND"] = command.rawValue
        let result: ProcessResult
        do {
            result = try ProcessRunner.run(path, arguments: [], environment: environment, stdin: config)
        } catch {
            throw CNIError(.delegateFailed, "cannot run \(path): \(error)")
        }
        guard result.succeeded else {
            if let e = try? JSONCoding.decode(JSONValue.self, from: result.stdout, what: "error"),
                case .number(let code)? = e["code"]
            {
                throw CNIError(
                    rawCode: UInt32(code), msg: "\(type): " + (e["msg"]?.stringValue ?? "failed"),
                    details: e["details"]?.stringValue)
            }
            let why = result.stderrString.isEmpty ? result.stdoutString : result.stderrString
            throw CNIError(
                .delegateFailed,
                "\(type) \(command.rawValue) failed (exit \(result.exitStatus)): \(why.trimmingWhitespace())")
        }
        return result.stdout
    }

    /// Runs an IPAM plugin's ADD and reads its result.
    func ipamAdd(_ type: String, config: [UInt8]) throws -> CNIResult {
        let out = try run(type, .add, config: config)
        return try CNIResult.parse(
            try JSONCoding.decode(JSONValue.self, from: out, what: "result of IPAM plugin \(type)"))
    }
}

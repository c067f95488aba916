import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import NFTables
import Netlink
import Testing

/// Every test that makes namespaces or labs nests here and runs one at a time: labs pick the lowest free index
/// on the machine, and two tests picking at once would race for it.
@Suite(.serialized) enum LabKernelTests {}

/// A lab made by a test through the real `weft` binary, removed by `down()` (call it in a `defer`-like path:
/// `LabUnderTest.with { … }` does it whatever happens).
struct LabUnderTest: Sendable {
    let name: String

    static var packageRoot: String {
        "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
    }

    /// The `weft` binary of this checkout's debug build.
    static var weftBinary: String { packageRoot + "/.build/debug/weft" }
    static let hasBinaries =
        access(packageRoot + "/.build/debug/weft", X_OK) == 0
        && access(packageRoot + "/.build/debug/weft-cni", X_OK) == 0
    static let kubectl = "/usr/bin/kubectl"

    /// A fresh lab name no other test uses.
    static func uniqueName() -> String {
        "t" + String((0..<7).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }

    /// Runs `weft ARGUMENTS` and collects its output.
    static func weft(_ arguments: [String]) async throws -> ProcessResult {
        try await ChildProcess.run(
            SpawnOptions(
                executable: weftBinary, arguments: arguments, environment: ["PATH": ContainerLaunch.defaultPath]),
            input: nil)
    }

    /// Brings a lab up with `arguments` (after `--name`), runs `body`, and always takes it down again.
    static func with<T: Sendable>(
        _ arguments: [String], manifest: String? = nil, _ body: (LabUnderTest) async throws -> T
    ) async throws -> T {
        let lab = LabUnderTest(name: uniqueName())
        var upArguments = ["lab", "up", "--name", lab.name] + arguments
        var manifestPath: String?
        if let manifest {
            let path = "/tmp/weft-labtest-\(lab.name).yaml"
            try manifest.write(toFile: path, atomically: true, encoding: .utf8)
            upArguments += ["-f", path]
            manifestPath = path
        }
        defer { if let manifestPath { unlink(manifestPath) } }
        do {
            let up = try await weft(upArguments)
            try #require(up.succeeded, "weft lab up failed: \(up.stdoutString) \(up.stderrString)")
            let result = try await body(lab)
            try await lab.down()
            return result
        } catch {
            _ = try? await lab.down()
            throw error
        }
    }

    func down() async throws {
        let result = try await Self.weft(["lab", "down", "--name", name])
        #expect(result.succeeded, "weft lab down: \(result.stdoutString) \(result.stderrString)")
        Self.expectNothingLeft(of: name)
    }

    var spec: LabSpec {
        get throws {
            guard let spec = try LabSpec.load(name: name) else { throw LabControlError.noSuchLab(name) }
            return spec
        }
    }

    var kubeconfig: String { "/var/lib/weft/lab/\(name)/kubeconfig" }

    func client() throws -> KubeClient {
        try KubeClient(configuration: try KubeConfig.load(path: kubeconfig).clientConfiguration())
    }

    /// `weft lab exec --name NAME ARGUMENTS…`.
    func exec(_ arguments: [String]) async throws -> ProcessResult {
        try await Self.weft(["lab", "exec", "--name", name] + arguments)
    }

    func kubectl(_ arguments: [String]) async throws -> ProcessResult {
        try await ChildProcess.run(
            SpawnOptions(
                executable: Self.kubectl, arguments: ["--kubeconfig", kubeconfig] + arguments,
                environment: ["PATH": ContainerLaunch.defaultPath, "HOME": "/tmp"]),
            input: nil)
    }

    /// Polls `condition` every 100 ms for up to `timeout`.
    static func eventually(
        _ timeout: Duration = .seconds(15), _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    /// Nothing of lab `name` is left: namespaces, the machine's link, processes, files.
    static func expectNothingLeft(of name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: NetNS.namedDirectory)) ?? []
        #expect(
            namespaces.filter { $0 == "weft-\(name)" || $0.hasPrefix("weft-\(name).") }.isEmpty,
            sourceLocation: sourceLocation)
        let links = (try? RouteSocket().links()) ?? []
        #expect(!links.contains { $0.alias == "weft-lab:\(name)" }, sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: "/run/weft/lab/\(name)"), sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: "/var/lib/weft/lab/\(name)"), sourceLocation: sourceLocation)
        #expect(processes(mentioning: name).isEmpty, sourceLocation: sourceLocation)
    }

    /// Pids of processes whose command line has `--name NAME` or runs in a namespace of lab `name`.
    static func processes(mentioning name: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                return false
            }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return zip(arguments, arguments.dropFirst()).contains { $0 == "--name" && $1 == name }
                || arguments.contains { $0.contains("/lab/\(name)/") }
        }
    }
}

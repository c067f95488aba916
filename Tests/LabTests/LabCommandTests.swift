import Foundation
import Glibc
import Lab
import NFTables
import Netlink
import Testing

extension LabKernelTests {
    /// The lab commands' contract with users: labs side by side, bad input answered clearly without touching
    /// another lab, and `down` after a crash halfway through `up`.
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabCommandTests {
        static func write(_ text: String, _ name: String) throws -> String {
            let path = "/tmp/weft-labtest-\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        @Test func badInputIsRefusedAndTouchesNothing() async throws {
            try await LabUnderTest.with(["--nodes", "1", "--ip-family", "ipv4"]) { lab in
                let before = try lab.spec

                // A second lab side by side works and goes away alone.
                let other = LabUnderTest.uniqueName()
                let up = try await LabUnderTest.weft(["lab", "up", "--name", other, "--nodes", "1"])
                #expect(up.succeeded, "\(up.stdoutString) \(up.stderrString)")
                let otherSpec = try #require(try LabSpec.load(name: other))
                #expect(otherSpec.index != before.index)
                #expect(try await LabUnderTest.weft(["lab", "down", "--name", other]).succeeded)
                LabUnderTest.expectNothingLeft(of: other)

                // The name is taken.
                let again = try await LabUnderTest.weft(["lab", "up", "--name", lab.name, "--nodes", "1"])
                #expect(!again.succeeded && again.stderrString.contains("already exists"), "\(again.stderrString)")

                // Manifests that do not parse, or name a kind the lab does not serve: nothing is made.
                let fresh = LabUnderTest.uniqueName()
                let broken = try Self.write("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n", fresh + "-broken.yaml")
                let unknown = try Self.write(
                    "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", fresh + "-unknown.yaml")
                defer {
                    unlink(broken)
                    unlink(unknown)
                }
                let notParsed = try await LabUnderTest.weft(["lab", "up", "--name", fresh, "-f", broken])
                #expect(!notParsed.succeeded && notParsed.stderrString.contains(broken), "\(notParsed.stderrString)")
                let unknownKind = try await LabUnderTest.weft(["lab", "up", "--name", fresh, "-f", unknown])
                #expect(
                    !unknownKind.succeeded && unknownKind.stderrString.contains("unknown kind \"Widget\""),
                    "\(unknownKind.stderrString)")
                let missingFile = try await LabUnderTest.weft(["lab", "up", "--name", fresh, "-f", "/nonexistent.yaml"])
                #expect(!missingFile.succeeded && missingFile.stderrString.contains("no such file"))
                #expect(!LabControl.exists(fresh))

                // Names and nodes that cannot be.
                let badName = try await LabUnderTest.weft(["lab", "up", "--name", "Bad_Name"])
                #expect(!badName.succeeded && badName.stderrString.contains("invalid lab name"))
                let noLab = try await LabUnderTest.weft(["lab", "down", "--name", fresh])
                #expect(!noLab.succeeded && noLab.stderrString.contains("no lab named"), "\(noLab.stderrString)")
                let badNode = try await LabUnderTest.weft(["lab", "node", "add", "--name", lab.name, "node-x"])
                #expect(!badNode.succeeded && badNode.stderrString.contains("invalid node"))
                let noPod = try await lab.exec(["nope", "--", "true"])
                #expect(!noPod.succeeded && noPod.stderrString.contains("not found"))

                // The first lab is untouched.
                #expect(try lab.spec == before)
                let status = try await LabUnderTest.weft(["lab", "status"])
                #expect(status.stdoutString.contains("\(lab.name): running"), "\(status.stdoutString)")
                let exec = try await lab.exec(["--host", "node-1", "--", "true"])
                #expect(exec.succeeded)
            }
        }

        /// A pod whose program does not exist: `up` says which pod and why, and fails; the lab stays for a look.
        @Test func upExplainsPodsThatDoNotStart() async throws {
            let name = LabUnderTest.uniqueName()
            let manifest = try Self.write(
                """
                apiVersion: v1
                kind: Pod
                metadata: {name: broken}
                spec: {containers: [{name: c, image: x, command: [no-such-program-xyz]}]}
                """, name + ".yaml")
            defer { unlink(manifest) }
            let up = try await LabUnderTest.weft([
                "lab", "up", "--name", name, "--nodes", "1", "-f", manifest, "--timeout", "5",
            ])
            let lab = LabUnderTest(name: name)
            #expect(up.exitStatus == 1)
            #expect(
                up.stdoutString.contains("pod/broken") && up.stdoutString.contains("no-such-program-xyz"),
                "\(up.stdoutString)")
            try await lab.down()
        }

        /// `up` killed with SIGKILL at several points (and its supervisor with it): `down` removes everything.
        @Test(arguments: [0.05, 0.3, 1.0])
        func downAfterUpWasKilled(after seconds: Double) async throws {
            let name = LabUnderTest.uniqueName()
            var options = SpawnOptions(
                executable: LabUnderTest.weftBinary, arguments: ["lab", "up", "--name", name, "--nodes", "3"],
                environment: ["PATH": ContainerLaunch.defaultPath])
            options.newSession = true
            let up = try ChildProcess.spawn(options)
            try await Task.sleep(for: .seconds(seconds))
            up.signal(SIGKILL)
            _ = await up.wait()
            for pid in LabUnderTest.processes(mentioning: name) { kill(pid, SIGKILL) }
            let down = try await LabUnderTest.weft(["lab", "down", "--name", name])
            // Killed before it made anything, there is nothing to remove: `down` says so.
            #expect(down.succeeded || down.stderrString.contains("no lab named"), "\(down.stderrString)")
            LabUnderTest.expectNothingLeft(of: name)
        }
    }
}

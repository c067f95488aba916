import Glibc
import NFTables
import Testing

@Suite struct ProcessRunnerTests {
    @Test func capturesStdoutAndStatus() throws {
        let result = try ProcessRunner.run("/bin/echo", arguments: ["hello", "world"])
        #expect(result.stdoutString == "hello world\n")
        #expect(result.stderr.isEmpty)
        #expect(result.exitStatus == 0)
        #expect(result.succeeded)
    }

    @Test func looksUpPATHAndReportsExitStatus() throws {
        let result = try ProcessRunner.run("sh", arguments: ["-c", "echo out; echo err >&2; exit 3"])
        #expect(result.stdoutString == "out\n")
        #expect(result.stderrString == "err\n")
        #expect(result.exitStatus == 3)
        #expect(result.terminationSignal == nil)
        #expect(!result.succeeded)
    }

    @Test func usesPATHOfTheGivenEnvironment() throws {
        #expect(throws: ProcessRunnerError.self) {
            try ProcessRunner.run("sh", arguments: ["-c", "true"], environment: ["PATH": "/nonexistent"])
        }
        let result = try ProcessRunner.run("env", arguments: [], environment: ["PATH": "/usr/bin:/bin", "A": "b=c"])
        #expect(result.stdoutString.split(separator: "\n").sorted() == ["A=b=c", "PATH=/usr/bin:/bin"])
    }

    @Test func missingProgramThrows() {
        #expect {
            try ProcessRunner.run("/nonexistent/weft-no-such-program", arguments: [])
        } throws: { error in
            (error as? ProcessRunnerError)?.errno == ENOENT
        }
        #expect {
            try ProcessRunner.run("weft-no-such-program", arguments: [])
        } throws: { error in
            guard let error = error as? ProcessRunnerError else { return false }
            return error.errno == ENOENT && error.description.contains("weft-no-such-program")
        }
    }

    @Test func reportsTheKillingSignal() throws {
        let result = try ProcessRunner.run("/bin/sh", arguments: ["-c", "kill -9 $$"])
        #expect(result.terminationSignal == SIGKILL)
        #expect(result.exitStatus == 128 + SIGKILL)
    }

    @Test func passesLargeInputWhileReadingLargeOutput() throws {
        // 4 MiB through cat: fills every pipe buffer both ways, so a runner that writes all input first deadlocks.
        var input = [UInt8](repeating: 0, count: 4 << 20)
        for i in input.indices { input[i] = UInt8(truncatingIfNeeded: i &* 7 &+ i >> 9) }
        let result = try ProcessRunner.run("cat", arguments: [], stdin: input)
        #expect(result.exitStatus == 0)
        #expect(result.stdout.count == input.count)
        #expect(result.stdout == input)
    }

    @Test func readsStdoutAndStderrTogether() throws {
        let script = "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2; head -c 1000000 /dev/zero"
        let result = try ProcessRunner.run("/bin/sh", arguments: ["-c", script])
        #expect(result.stdout.count == 4_000_000)
        #expect(result.stderr.count == 2_000_000)
    }

    @Test func childThatIgnoresInputDoesNotKillUs() throws {
        let input = [UInt8](repeating: 65, count: 1 << 20)
        let result = try ProcessRunner.run("/bin/true", arguments: [], stdin: input)
        #expect(result.exitStatus == 0)
        let partial = try ProcessRunner.run("head", arguments: ["-c", "10"], stdin: input)
        #expect(partial.stdoutString == "AAAAAAAAAA")
    }

    @Test func stdinIsDevNullWithoutInput() throws {
        let result = try ProcessRunner.run("cat", arguments: [])
        #expect(result.stdout.isEmpty)
        #expect(result.exitStatus == 0)
        let empty = try ProcessRunner.run("cat", arguments: [], stdin: [])
        #expect(empty.stdout.isEmpty)
    }

    @Test func doesNotLeakDescriptors() throws {
        // A descriptor opened without O_CLOEXEC must not reach the child.
        let fd = open("/dev/null", O_RDONLY)
        #expect(fd >= 3)
        defer { close(fd) }
        let result = try ProcessRunner.run("/bin/sh", arguments: ["-c", "ls /proc/$$/fd"])
        let fds = result.stdoutString.split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(fds == [0, 1, 2])
    }

    @Test func runsConcurrently() async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    let result = try ProcessRunner.run("/bin/sh", arguments: ["-c", "echo $0", "\(i)"])
                    return result.stdoutString == "\(i)\n"
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}

import Foundation
import Glibc
import Lab
import NFTables
import Testing

// `Lab.ExitStatus` is spelled out: swift-testing has an `ExitStatus` of its own (for exit tests).

/// `ChildProcess`: exit statuses, signals and waiting, standard streams, the environment, `run`'s captured
/// pipes, spawn failures, and (as root) the network, mount and UTS namespaces a child starts in.
struct ChildProcessTests {
    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    static func shell(_ script: String) -> SpawnOptions {
        SpawnOptions(executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": path])
    }

    /// A fresh directory (no symlinks in its path), removed by `body`'s end.
    static func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = "/tmp/weft-spawn-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    /// A new network namespace `weft-test-spawn-RANDOM` made with `ip netns add`, deleted afterwards.
    static func withTestNamespace<T>(_ body: (String) async throws -> T) async throws -> T {
        let name = "weft-test-spawn-\(String(UInt32.random(in: .min ... .max), radix: 36))"
        let added = try ProcessRunner.run("ip", arguments: ["netns", "add", name])
        try #require(added.succeeded, "ip netns add: \(added.stderrString)")
        defer { _ = try? ProcessRunner.run("ip", arguments: ["netns", "delete", name]) }
        return try await body("/run/netns/\(name)")
    }

    static func inode(_ path: String) throws -> UInt64 {
        var info = stat()
        try #require(stat(path, &info) == 0, "stat \(path): errno \(errno)")
        return UInt64(info.st_ino)
    }

    // MARK: - Exit statuses, signals, waiting

    @Test func exitStatusesAndKillingSignals() async throws {
        for code: Int32 in [0, 1, 42, 255] {
            let child = try ChildProcess.spawn(Self.shell("exit \(code)"))
            #expect(await child.wait() == .exited(code))
            #expect(child.exitStatus == .exited(code))
        }
        let killed = try ChildProcess.spawn(Self.shell("kill -KILL $$"))
        let status = await killed.wait()
        #expect(status == .signaled(SIGKILL))
        #expect(status.code == 128 + SIGKILL)
    }

    @Test func signalThenWait() async throws {
        let child = try ChildProcess.spawn(SpawnOptions(executable: "sleep", arguments: ["100"]))
        #expect(child.exitStatus == nil)
        child.signal(SIGTERM)
        #expect(await child.wait() == .signaled(SIGTERM))
        #expect(child.exitStatus == .signaled(SIGTERM))
        // Once reaped, the pid is no longer the child's: signalling does nothing, waiting returns at once.
        child.signal(SIGKILL)
        #expect(await child.wait() == .signaled(SIGTERM))
    }

    @Test func manyWaitersAllGetTheStatus() async throws {
        let child = try ChildProcess.spawn(Self.shell("sleep 0.2; exit 7"))
        let statuses = await withTaskGroup(of: Lab.ExitStatus.self) { group in
            for _ in 0..<100 { group.addTask { await child.wait() } }
            return await group.reduce(into: [Lab.ExitStatus]()) { $0.append($1) }
        }
        #expect(statuses.count == 100)
        #expect(statuses.allSatisfy { $0 == .exited(7) })
    }

    @Test func concurrentSpawnsAndRunsFromManyThreads() async throws {
        let outcomes = try await withThrowingTaskGroup(of: (Int32, Lab.ExitStatus, String).self) { group in
            for code in Int32(0)..<40 {
                group.addTask {
                    if code.isMultiple(of: 2) {
                        return (code, try await ChildProcess.spawn(Self.shell("exit \(code)")).wait(), "")
                    }
                    let result = try await ChildProcess.run(Self.shell("echo \(code); exit \(code)"), input: nil)
                    return (code, .exited(result.exitStatus), result.stdoutString)
                }
            }
            return try await group.reduce(into: [(Int32, Lab.ExitStatus, String)]()) { $0.append($1) }
        }
        #expect(outcomes.count == 40)
        for (code, status, output) in outcomes {
            #expect(status == .exited(code))
            #expect(output == (code.isMultiple(of: 2) ? "" : "\(code)\n"))
        }
    }

    // MARK: - Standard streams, environment, working directory, descriptors

    @Test func standardStreamsToAndFromFiles() async throws {
        try await Self.withTemporaryDirectory { directory async throws in
            let log = directory + "/out.log"
            var options = Self.shell("echo out; echo err >&2")
            options.stdout = .file(log)
            options.stderr = .file(log)
            for _ in 0..<2 { #expect(try await ChildProcess.spawn(options).wait() == .exited(0)) }
            #expect(try String(contentsOfFile: log, encoding: .utf8) == "out\nerr\nout\nerr\n")

            let copy = directory + "/copy"
            let copying = SpawnOptions(executable: "/bin/cat", stdin: .file(log), stdout: .file(copy))
            #expect(try await ChildProcess.spawn(copying).wait() == .exited(0))
            #expect(try String(contentsOfFile: copy, encoding: .utf8) == "out\nerr\nout\nerr\n")
        }
    }

    @Test func environmentIsExactlyTheGivenOne() async throws {
        let environment = ["WEFT_A": "1", "WEFT_B": "two words", "EMPTY": "", "PATH": "/nonexistent:/usr/bin:/bin"]
        // `env` without a slash: found through the given PATH.
        let result = try await ChildProcess.run(SpawnOptions(executable: "env", environment: environment), input: nil)
        #expect(result.succeeded)
        let lines = result.stdoutString.split(separator: "\n").map(String.init)
        #expect(lines.sorted() == environment.map { "\($0.key)=\($0.value)" }.sorted())
    }

    @Test func workingDirectory() async throws {
        try await Self.withTemporaryDirectory { directory async throws in
            var options = Self.shell("pwd -P")
            options.workingDirectory = directory
            #expect(try await ChildProcess.run(options, input: nil).stdoutString == directory + "\n")
        }
    }

    @Test func childGetsNoDescriptorsBeyondTheStandardOnes() async throws {
        // Neither close-on-exec nor from a pipe of ours: only the child's close_range keeps it out.
        let leaked = open("/dev/null", O_RDONLY)
        try #require(leaked >= 3)
        defer { close(leaked) }
        let result = try await ChildProcess.run(Self.shell("ls /proc/$$/fd"), input: nil)
        #expect(result.stdoutString.split(separator: "\n") == ["0", "1", "2"])
    }

    @Test func childStartsWithDefaultSignals() async throws {
        try await Self.withTemporaryDirectory { directory async throws in
            let status = directory + "/status"
            let options = SpawnOptions(
                executable: "/bin/grep", arguments: ["-E", "^Sig(Blk|Ign):", "/proc/self/status"],
                stdout: .file(status))
            // SIGHUP ignored by the process and SIGUSR1 blocked in this thread while spawning (no suspension
            // point in between, so the thread is the one that forks): the child must get neither.
            var ignore = sigaction()
            ignore.__sigaction_handler.sa_handler = SIG_IGN
            var previous = sigaction()
            sigaction(SIGHUP, &ignore, &previous)
            var block = sigset_t()
            sigemptyset(&block)
            sigaddset(&block, SIGUSR1)
            var previousMask = sigset_t()
            pthread_sigmask(SIG_BLOCK, &block, &previousMask)
            let child = Result { try ChildProcess.spawn(options) }
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
            sigaction(SIGHUP, &previous, nil)

            #expect(try await child.get().wait() == .exited(0))
            let masks = try String(contentsOfFile: status, encoding: .utf8)
            #expect(masks == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", "\(masks.debugDescription)")
        }
    }

    @Test func newSessionMakesTheChildASessionLeader() async throws {
        var options = Self.shell("echo $$ $(ps -o sid= -p $$)")
        for newSession in [true, false] {
            options.newSession = newSession
            let output = try await ChildProcess.run(options, input: nil).stdoutString
            let fields = output.split(whereSeparator: \.isWhitespace)
            try #require(fields.count == 2, "\(output)")
            #expect((fields[0] == fields[1]) == newSession, "pid and sid: \(output)")
        }
    }

    // MARK: - run

    @Test func runFeedsInputAndCapturesBothStreams() async throws {
        let result = try await ChildProcess.run(Self.shell("cat; echo oops >&2; exit 3"), input: Array("hello\n".utf8))
        #expect(result.stdoutString == "hello\n")
        #expect(result.stderrString == "oops\n")
        #expect(result.exitStatus == 3)
        #expect(result.terminationSignal == nil)

        let noInput = try await ChildProcess.run(Self.shell("cat"), input: nil)
        #expect(noInput.succeeded && noInput.stdout.isEmpty)
    }

    @Test func runDoesNotDeadlockWhenTheChildWritesBeforeReading() async throws {
        let mebibyte = 1 << 20
        let input = (0..<mebibyte).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let script = "head -c \(mebibyte) /dev/zero; head -c \(mebibyte) /dev/zero >&2; cat"
        let result = try await ChildProcess.run(Self.shell(script), input: input)
        #expect(result.succeeded)
        #expect(result.stdout.count == 2 * mebibyte)
        #expect(result.stdout.prefix(mebibyte).allSatisfy { $0 == 0 })
        #expect(Array(result.stdout.dropFirst(mebibyte)) == input)
        #expect(result.stderr.count == mebibyte)
    }

    @Test func runReportsASignalAndToleratesUnreadInput() async throws {
        // The child dies without reading: writing its input meets EPIPE, which is not an error (nor a SIGPIPE).
        let result = try await ChildProcess.run(
            Self.shell("kill -TERM $$"), input: [UInt8](repeating: 1, count: 1 << 20))
        #expect(result.terminationSignal == SIGTERM)
        #expect(result.exitStatus == 128 + SIGTERM)
    }

    // MARK: - Failures

    @Test func failuresNameTheStep() async throws {
        let missing = #expect(throws: ProcessRunnerError.self) {
            try ChildProcess.spawn(SpawnOptions(executable: "/nonexistent/weft-program"))
        }
        #expect(missing?.operation == "execve /nonexistent/weft-program")
        #expect(missing?.errno == ENOENT)

        let notInPath = await #expect(throws: ProcessRunnerError.self) {
            try await ChildProcess.run(SpawnOptions(executable: "weft-no-such-program"), input: [1])
        }
        #expect(notInPath?.operation == "PATH lookup")
        #expect(notInPath?.errno == ENOENT)

        let noDirectory = #expect(throws: ProcessRunnerError.self) {
            try ChildProcess.spawn(SpawnOptions(executable: "/bin/true", workingDirectory: "/nonexistent/dir"))
        }
        #expect(noDirectory?.operation == "chdir /nonexistent/dir")

        let noNamespace = #expect(throws: ProcessRunnerError.self) {
            try ChildProcess.spawn(SpawnOptions(executable: "/bin/true", networkNamespace: "/run/netns/weft-none"))
        }
        #expect(noNamespace?.operation == "open network namespace /run/netns/weft-none")

        // A namespace file of another kind: setns refuses it.
        let wrongKind = #expect(throws: ProcessRunnerError.self) {
            try ChildProcess.spawn(SpawnOptions(executable: "/bin/true", networkNamespace: "/proc/self/ns/uts"))
        }
        #expect(wrongKind?.operation == "setns /proc/self/ns/uts")
        #expect(wrongKind?.errno == EINVAL)
    }

    // MARK: - Namespaces (root)

    @Test(.enabled(if: getuid() == 0)) func joinsANetworkNamespace() async throws {
        let ours = try Self.inode("/proc/thread-self/ns/net")
        try await Self.withTestNamespace { namespace async throws in
            var options = Self.shell("readlink /proc/self/ns/net; ip -o link")
            options.networkNamespace = namespace
            let result = try await ChildProcess.run(options, input: nil)
            let lines = result.stdoutString.split(separator: "\n")
            try #require(lines.count == 2, "\(result.stdoutString)\(result.stderrString)")
            #expect(lines[0] == "net:[\(try Self.inode(namespace))]")
            #expect(lines[1].hasPrefix("1: lo:"))
        }
        #expect(try Self.inode("/proc/thread-self/ns/net") == ours)
    }

    @Test(.enabled(if: getuid() == 0)) func bindMountsResolvConfAndHostsPrivately() async throws {
        let machineResolvConf = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        let machineHosts = try String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        try await Self.withTemporaryDirectory { directory async throws in
            let resolvConf = "nameserver 192.0.2.53\nsearch weft-test.svc.cluster.local\n"
            let hosts = "192.0.2.7 weft-test-pod\n"
            try resolvConf.write(toFile: directory + "/resolv.conf", atomically: false, encoding: .utf8)
            try hosts.write(toFile: directory + "/hosts", atomically: false, encoding: .utf8)
            var options = Self.shell("cat /etc/resolv.conf; cat /etc/hosts")
            options.resolvConf = directory + "/resolv.conf"
            options.hostsFile = directory + "/hosts"
            let result = try await ChildProcess.run(options, input: nil)
            #expect(result.succeeded, "\(result.stderrString)")
            #expect(result.stdoutString == resolvConf + hosts)

            options.arguments = ["-c", "cat /etc/resolv.conf"]
            options.hostsFile = nil
            #expect(try await ChildProcess.run(options, input: nil).stdoutString == resolvConf)
        }
        #expect(try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) == machineResolvConf)
        #expect(try String(contentsOfFile: "/etc/hosts", encoding: .utf8) == machineHosts)
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains("weft-spawn-test"))
    }

    @Test(.enabled(if: getuid() == 0)) func hostnameInItsOwnUTSNamespace() async throws {
        let machineHostname = try String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8)
        var options = Self.shell("hostname; cat /proc/sys/kernel/hostname")
        options.hostname = "weft-test-pod-0"
        let result = try await ChildProcess.run(options, input: nil)
        #expect(result.stdoutString == "weft-test-pod-0\nweft-test-pod-0\n")
        #expect(try String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8) == machineHostname)
    }

    @Test(.enabled(if: getuid() == 0)) func namespaceProcessesFindsOnlyThoseInside() async throws {
        try await Self.withTestNamespace { namespace async throws in
            let inside = try ChildProcess.spawn(
                SpawnOptions(executable: "sleep", arguments: ["100"], networkNamespace: namespace))
            defer { inside.signal(SIGKILL) }
            let outside = try ChildProcess.spawn(SpawnOptions(executable: "sleep", arguments: ["100"]))
            defer { outside.signal(SIGKILL) }

            #expect(NamespaceProcesses.pids(inNetworkNamespaces: [namespace, "/run/netns/weft-none"]) == [inside.pid])
            let here = NamespaceProcesses.pids(inNetworkNamespaces: ["/proc/self/ns/net"])
            #expect(here.contains(outside.pid))
            #expect(!here.contains(inside.pid))
            #expect(!here.contains(getpid()))
            #expect(NamespaceProcesses.pids(inNetworkNamespaces: []).isEmpty)

            inside.signal(SIGKILL)
            outside.signal(SIGKILL)
            #expect(await inside.wait() == .signaled(SIGKILL))
            #expect(await outside.wait() == .signaled(SIGKILL))
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a child process left behind: its exit status and everything it wrote.
public struct ProcessResult: Sendable, Hashable {
    /// The exit code; when the child was killed by a signal, `128 + signal` as a shell reports it.
    public var exitStatus: Int32
    /// The signal that killed the child, or `nil` when it exited by itself.
    public var terminationSignal: Int32?
    /// Everything the child wrote to its standard output.
    public var stdout: [UInt8]
    /// Everything the child wrote to its standard error.
    public var stderr: [UInt8]

    /// Creates a result (mostly useful for fakes in tests).
    public init(exitStatus: Int32, terminationSignal: Int32? = nil, stdout: [UInt8] = [], stderr: [UInt8] = []) {
        self.exitStatus = exitStatus
        self.terminationSignal = terminationSignal
        self.stdout = stdout
        self.stderr = stderr
    }

    /// True when the child exited by itself with status 0.
    public var succeeded: Bool { terminationSignal == nil && exitStatus == 0 }
    /// Standard output decoded as UTF-8 (invalid bytes repaired).
    public var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error decoded as UTF-8 (invalid bytes repaired).
    public var stderrString: String { String(decoding: stderr, as: UTF8.self) }
}

/// A failure to start or to supervise a child process (not a non-zero exit status, which is a normal result).
public struct ProcessRunnerError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The program that was to be run, as the caller named it.
    public var path: String
    /// The system call or step that failed, e.g. `posix_spawn`, `PATH lookup`.
    public var operation: String
    /// The errno value of the failure.
    public var errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return "cannot run \(path): \(operation) failed: \(reason) (errno \(errno))"
    }
}

/// Runs a program to completion with `posix_spawn`, feeding it standard input and collecting its standard output
/// and standard error through pipes.
///
/// The parent polls all pipes at once, so a child that writes a lot before reading its input cannot deadlock it.
/// Every system call is retried on `EINTR`. The child starts with a clean signal mask and default signal
/// dispositions, standard input from `/dev/null` when no input is given, and no file descriptors other than 0, 1
/// and 2 (descriptors are created close-on-exec and, where glibc offers it, everything from 3 up is closed).
public enum ProcessRunner {
    /// Runs `path` with `arguments` and waits for it to exit.
    ///
    /// - Parameters:
    ///   - path: the program; when it has no slash it is looked up in `PATH` (the `PATH` of `environment` when
    ///     given, else this process's).
    ///   - arguments: the arguments after `argv[0]` (which is `path`).
    ///   - environment: the child's complete environment; `nil` inherits this process's environment.
    ///   - stdin: bytes for the child's standard input, which is closed after them; `nil` gives `/dev/null`.
    /// - Throws: `ProcessRunnerError` when the program cannot be found or started.
    public static func run(
        _ path: String, arguments: [String], environment: [String: String]? = nil, stdin: [UInt8]? = nil
    ) throws -> ProcessResult {
        let executable = try resolve(path, environment: environment)

        let outPipe = try makePipe(path)
        let errPipe: (read: Int32, write: Int32)
        do { errPipe = try makePipe(path) } catch {
            closeAll([outPipe.read, outPipe.write])
            throw error
        }
        var inPipe: (read: Int32, write: Int32)? = nil
        if stdin != nil {
            do { inPipe = try makePipe(path) } catch {
                closeAll([outPipe.read, outPipe.write, errPipe.read, errPipe.write])
                throw error
            }
        }

        let pid: pid_t
        do {
            pid = try spawn(
                executable, argv0: path, arguments: arguments, environment: environment,
                stdinFD: inPipe?.read, stdoutFD: outPipe.write, stderrFD: errPipe.write)
        } catch {
            closeAll([outPipe.read, outPipe.write, errPipe.read, errPipe.write])
            if let inPipe { closeAll([inPipe.read, inPipe.write]) }
            throw error
        }
        closeAll([outPipe.write, errPipe.write])
        if let inPipe { closeAll([inPipe.read]) }

        var io = ChildIO(stdoutFD: outPipe.read, stderrFD: errPipe.read, stdinFD: inPipe?.write, input: stdin ?? [])
        let ioError = io.pump()
        io.closeRemaining()

        let status = try wait(for: pid, path: path)
        if let ioError { throw ProcessRunnerError(path: path, operation: ioError.operation, errno: ioError.errno) }
        let signal = status & 0x7f
        if signal == 0 {
            return ProcessResult(exitStatus: (status >> 8) & 0xff, stdout: io.stdout, stderr: io.stderr)
        }
        return ProcessResult(exitStatus: 128 + signal, terminationSignal: signal, stdout: io.stdout, stderr: io.stderr)
    }

    // MARK: - Path lookup

    /// The absolute or relative path to execute: `path` itself when it has a slash, else the first executable
    /// regular file named `path` in the `PATH` directories.
    static func resolve(_ path: String, environment: [String: String]?) throws -> String {
        if path.isEmpty { throw ProcessRunnerError(path: path, operation: "PATH lookup", errno: ENOENT) }
        if path.contains("/") { return path }
        let searchPath: String
        if let environment {
            searchPath = environment["PATH"] ?? defaultSearchPath
        } else if let inherited = getenv("PATH") {
            searchPath = String(cString: inherited)
        } else {
            searchPath = defaultSearchPath
        }
        var sawPermissionDenied = false
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let dir = directory.isEmpty ? "." : String(directory)
            let candidate = dir.hasSuffix("/") ? dir + path : dir + "/" + path
            var info = stat()
            guard stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return candidate }
            sawPermissionDenied = true
        }
        throw ProcessRunnerError(path: path, operation: "PATH lookup", errno: sawPermissionDenied ? EACCES : ENOENT)
    }

    static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    // MARK: - Spawning

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// `pipe2` and `posix_spawn_file_actions_addclosefrom_np` are GNU extensions that Swift's Glibc module does not
    /// declare; look them up at run time so that an older glibc still works.
    private static let pipe2Function: Pipe2? = {
        guard let symbol = dlsym(nil, "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: Pipe2.self)
    }()
    private static let addCloseFromFunction: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    private static func makePipe(_ path: String) throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        if let pipe2 = pipe2Function {
            let rc = fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) }
            if rc != 0 { throw ProcessRunnerError(path: path, operation: "pipe2", errno: errno) }
        } else {
            if pipe(&fds) != 0 { throw ProcessRunnerError(path: path, operation: "pipe", errno: errno) }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        }
        return (fds[0], fds[1])
    }

    private static func spawn(
        _ executable: String, argv0: String, arguments: [String], environment: [String: String]?,
        stdinFD: Int32?, stdoutFD: Int32, stderrFD: Int32
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinFD {
            posix_spawn_file_actions_adddup2(&actions, stdinFD, STDIN_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdoutFD, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, stderrFD, STDERR_FILENO)
        if let addCloseFrom = addCloseFromFunction { _ = addCloseFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv: [UnsafeMutablePointer<CChar>?] = ([argv0] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var envp: [UnsafeMutablePointer<CChar>?]? = nil
        if let environment {
            var list = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
            list.append(nil)
            envp = list
        }
        defer { if let envp { for pointer in envp { free(pointer) } } }

        var pid: pid_t = 0
        let rc: Int32
        if envp != nil {
            rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp!)
        } else {
            rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        }
        if rc != 0 { throw ProcessRunnerError(path: argv0, operation: "posix_spawn", errno: rc) }
        return pid
    }

    private static func wait(for pid: pid_t, path: String) throws -> Int32 {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, 0)
            if rc == pid { return status }
            if rc == -1 && errno == EINTR { continue }
            throw ProcessRunnerError(path: path, operation: "waitpid", errno: errno)
        }
    }

    fileprivate static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { _ = close(fd) }
    }
}

/// The parent's ends of the child's pipes, pumped with `poll` until both output pipes reach end of file.
private struct ChildIO {
    var stdoutFD: Int32
    var stderrFD: Int32
    var stdinFD: Int32?
    let input: [UInt8]
    var written = 0
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []

    init(stdoutFD: Int32, stderrFD: Int32, stdinFD: Int32?, input: [UInt8]) {
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
        self.stdinFD = stdinFD
        self.input = input
    }

    /// Moves bytes until the child has closed its output; returns the first failure, if any.
    mutating func pump() -> (operation: String, errno: Int32)? {
        if let fd = stdinFD {
            if input.isEmpty {
                _ = close(fd)
                stdinFD = nil
            } else {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
        }
        // Writing to a pipe whose reader has gone raises SIGPIPE in this thread: block it while we write, and
        // swallow the one our write caused so that it does not kill the process later.
        var pipeMask = sigset_t()
        sigemptyset(&pipeMask)
        sigaddset(&pipeMask, SIGPIPE)
        var oldMask = sigset_t()
        var sigpipeWasPending = false
        let guardSigpipe = stdinFD != nil
        if guardSigpipe {
            var pending = sigset_t()
            sigpending(&pending)
            sigpipeWasPending = sigismember(&pending, SIGPIPE) == 1
            pthread_sigmask(SIG_BLOCK, &pipeMask, &oldMask)
        }
        var sawEPIPE = false
        defer {
            if guardSigpipe {
                if sawEPIPE && !sigpipeWasPending {
                    var zero = timespec(tv_sec: 0, tv_nsec: 0)
                    while sigtimedwait(&pipeMask, nil, &zero) == -1 && errno == EINTR {}
                }
                pthread_sigmask(SIG_SETMASK, &oldMask, nil)
            }
        }

        let chunkSize = 65536
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var pollFDs: [pollfd] = []
        pollFDs.reserveCapacity(3)

        while stdoutFD >= 0 || stderrFD >= 0 || stdinFD != nil {
            pollFDs.removeAll(keepingCapacity: true)
            if stdoutFD >= 0 { pollFDs.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { pollFDs.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if let fd = stdinFD { pollFDs.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&pollFDs, nfds_t(pollFDs.count), -1)
            if ready == -1 {
                if errno == EINTR { continue }
                return ("poll", errno)
            }
            for entry in pollFDs where entry.revents != 0 {
                if entry.fd == stdinFD {
                    if let failure = writeInput(fd: entry.fd, sawEPIPE: &sawEPIPE) { return failure }
                } else if entry.fd == stdoutFD || entry.fd == stderrFD {
                    if let failure = drain(fd: entry.fd, buffer: buffer, size: chunkSize) { return failure }
                }
            }
        }
        return nil
    }

    /// Reads once from a readable pipe; closes it at end of file.
    private mutating func drain(
        fd: Int32, buffer: UnsafeMutableRawPointer, size: Int
    ) -> (operation: String, errno: Int32)? {
        while true {
            let n = read(fd, buffer, size)
            if n > 0 {
                let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
                if fd == stdoutFD { stdout.append(contentsOf: bytes) } else { stderr.append(contentsOf: bytes) }
                return nil
            }
            if n == -1 && errno == EINTR { continue }
            if n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
            let failure: (String, Int32)? = n == 0 ? nil : ("read", errno)
            _ = close(fd)
            if fd == stdoutFD { stdoutFD = -1 } else { stderrFD = -1 }
            return failure
        }
    }

    /// Writes as much input as the pipe takes; closes it when all is written or the child stopped reading.
    private mutating func writeInput(fd: Int32, sawEPIPE: inout Bool) -> (operation: String, errno: Int32)? {
        while written < input.count {
            let n = input.withUnsafeBytes { bytes in
                write(fd, bytes.baseAddress! + written, bytes.count - written)
            }
            if n > 0 {
                written += n
                continue
            }
            if n == -1 && errno == EINTR { continue }
            if n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
            if n == -1 && errno == EPIPE {
                sawEPIPE = true
                break
            }
            let failure = ("write", errno)
            _ = close(fd)
            stdinFD = nil
            return failure
        }
        _ = close(fd)
        stdinFD = nil
        return nil
    }

    /// Closes whatever a failure left open.
    mutating func closeRemaining() {
        ProcessRunner.closeAll([stdoutFD, stderrFD, stdinFD ?? -1])
        stdoutFD = -1
        stderrFD = -1
        stdinFD = nil
    }
}

import CWeftLinux
import Glibc
import NFTables
import Synchronization

/// How to start a ``ChildProcess``: the program, its environment, and the namespaces and files it starts in.
public struct SpawnOptions: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stdio: Sendable, Equatable {
        /// `/dev/null`.
        case null
        /// The same stream of this process.
        case inherit
        /// A file, opened `O_WRONLY | O_CREAT | O_APPEND` with mode 0644 (read-only for standard input).
        case file(String)
        /// An open descriptor of the caller's, which it keeps owning (the child gets a copy).
        case descriptor(Int32)
    }

    /// The program: a path, or a name without a slash looked up in the `PATH` of ``environment`` (or, when that
    /// has none, in `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`).
    public var executable: String
    /// The arguments after `argv[0]` (which is ``executable`` as given).
    public var arguments: [String]
    /// The child's complete environment; nothing is inherited from this process.
    public var environment: [String: String]
    /// A network namespace file to join, e.g. `/run/netns/NAME` or `/proc/PID/ns/net`; `nil` stays in this
    /// process's network namespace.
    public var networkNamespace: String?
    /// A file bind-mounted onto `/etc/resolv.conf` in a private mount namespace of the child's.
    public var resolvConf: String?
    /// A file bind-mounted onto `/etc/hosts` in a private mount namespace of the child's.
    public var hostsFile: String?
    /// The hostname in a UTS namespace of the child's own; `nil` shares the machine's.
    public var hostname: String?
    /// The child's working directory; `nil` inherits this process's.
    public var workingDirectory: String?
    /// The child's standard input.
    public var stdin: Stdio = .null
    /// The child's standard output.
    public var stdout: Stdio = .null
    /// The child's standard error.
    public var stderr: Stdio = .null
    /// Whether the child starts a new session (`setsid`): its own process group, no controlling terminal.
    public var newSession = false

    public init(
        executable: String, arguments: [String] = [], environment: [String: String] = [:],
        networkNamespace: String? = nil, resolvConf: String? = nil, hostsFile: String? = nil,
        hostname: String? = nil, workingDirectory: String? = nil,
        stdin: Stdio = .null, stdout: Stdio = .null, stderr: Stdio = .null, newSession: Bool = false
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.networkNamespace = networkNamespace
        self.resolvConf = resolvConf
        self.hostsFile = hostsFile
        self.hostname = hostname
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.newSession = newSession
    }
}

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable {
    /// It exited by itself with this status (0–255).
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)

    /// The status as a shell reports it: the exit status, or `128 + signal`.
    public var code: Int32 {
        switch self {
        case .exited(let status): status
        case .signaled(let signal): 128 + signal
        }
    }

    /// Decodes a `waitpid` status of a child that has terminated.
    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signaled(signal)
    }
}

/// A child process started into namespaces by `weft_spawn` (C: fork, set up, exec), and reaped by this module.
///
/// Every child is registered with one process-wide reaper, which polls `waitpid(pid, WNOHANG)` for its own pids
/// only (never `waitpid(-1)`, so other code may wait for children of its own) every 20 ms while any are
/// running. The pid stays the child's until the reaper has collected it, and ``signal(_:)`` never signals a pid
/// after that, so it cannot hit a recycled pid. A child whose `ChildProcess` is dropped is still reaped.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: Int32
    private let state = Mutex(State())

    private struct State {
        var status: ExitStatus?
        var waiters: [CheckedContinuation<ExitStatus, Never>] = []
    }

    private init(pid: Int32) {
        self.pid = pid
    }

    /// Starts a child as `options` say and returns once it has executed the program (the calling thread blocks for
    /// the fork and until the child's `execve`, a few milliseconds).
    ///
    /// - Throws: `ProcessRunnerError` whose operation names the step that failed (e.g. `PATH lookup`,
    ///   `open network namespace /run/netns/x`, `setns /run/netns/x`, `mount /etc/resolv.conf /tmp/r`,
    ///   `execve /bin/x`); a child that failed after fork has been reaped.
    public static func spawn(_ options: SpawnOptions) throws -> ChildProcess {
        let name = options.executable
        let path = try resolve(name, environment: options.environment)

        // Descriptors and C strings made for the child, released once it has executed the program (or failed).
        var opened: [Int32] = []
        var strings: [UnsafeMutablePointer<CChar>?] = []
        defer {
            for fd in opened { _ = close(fd) }
            for string in strings { free(string) }
        }
        func open(_ file: String, _ flags: Int32, _ operation: String) throws -> Int32 {
            let fd = Glibc.open(file, flags | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ProcessRunnerError(path: name, operation: operation, errno: errno) }
            opened.append(fd)
            return fd
        }
        func descriptor(_ stdio: SpawnOptions.Stdio, _ standard: Int32) throws -> Int32 {
            switch stdio {
            case .null: return -1
            case .inherit: return standard
            case .descriptor(let fd): return fd
            case .file(let file):
                let flags = standard == STDIN_FILENO ? O_RDONLY : O_WRONLY | O_CREAT | O_APPEND
                return try open(file, flags, "open \(file)")
            }
        }
        func cString(_ string: String?) -> UnsafeMutablePointer<CChar>? {
            guard let string else { return nil }
            let copy = strdup(string)
            strings.append(copy)
            return copy
        }

        var attributes = weft_spawn_attr(
            netns_fd: try options.networkNamespace.map { try open($0, O_RDONLY, "open network namespace \($0)") } ?? -1,
            stdin_fd: try descriptor(options.stdin, STDIN_FILENO),
            stdout_fd: try descriptor(options.stdout, STDOUT_FILENO),
            stderr_fd: try descriptor(options.stderr, STDERR_FILENO),
            new_session: options.newSession ? 1 : 0,
            resolv_conf: UnsafePointer(cString(options.resolvConf)),
            hosts_file: UnsafePointer(cString(options.hostsFile)),
            hostname: UnsafePointer(cString(options.hostname)),
            working_dir: UnsafePointer(cString(options.workingDirectory)))
        let argv = ([name] + options.arguments).map(cString) + [nil]
        let envp = options.environment.sorted { $0.key < $1.key }.map { cString("\($0.key)=\($0.value)") } + [nil]

        var step: Int32 = 0
        var error: Int32 = 0
        let pid = weft_spawn(path, argv, envp, &attributes, &step, &error)
        guard pid > 0 else {
            let detail: String? =
                switch Int(step) {
                case WEFT_SPAWN_STEP_SETNS: options.networkNamespace
                case WEFT_SPAWN_STEP_MOUNT_RESOLV_CONF: options.resolvConf
                case WEFT_SPAWN_STEP_MOUNT_HOSTS: options.hostsFile
                case WEFT_SPAWN_STEP_CHDIR: options.workingDirectory
                case WEFT_SPAWN_STEP_EXECVE: path
                default: nil
                }
            let operation = String(cString: weft_spawn_step_name(step)) + (detail.map { " \($0)" } ?? "")
            throw ProcessRunnerError(path: name, operation: operation, errno: error)
        }
        let child = ChildProcess(pid: pid)
        Reaper.shared.register(child)
        return child
    }

    /// Sends `signal` to the child; does nothing once it has been reaped (and so for a child that is gone).
    public func signal(_ signal: Int32) {
        state.withLock { state in
            // Under the lock the reaper takes to collect the pid: the pid cannot have been reused yet.
            if state.status == nil { _ = kill(pid, signal) }
        }
    }

    /// Waits until the child has terminated and been reaped. Any number of callers may wait; all get the status.
    /// Cancellation is not observed: the wait ends when the child does.
    public func wait() async -> ExitStatus {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// How the child ended, or `nil` while it runs (or has ended but not been reaped yet).
    public var exitStatus: ExitStatus? {
        state.withLock { $0.status }
    }

    /// Collects the child if it has terminated and wakes its waiters; returns whether it has been collected.
    ///
    /// A child that someone else has reaped already (`ECHILD`: a `waitpid(-1)` elsewhere, or `SIGCHLD` ignored)
    /// has an unknowable status and is reported as `.exited(255)`, so that its waiters do not hang.
    fileprivate func reap() -> Bool {
        let (status, waiters) = state.withLock { state -> (ExitStatus?, [CheckedContinuation<ExitStatus, Never>]) in
            var raw: Int32 = 0
            var rc: pid_t
            repeat { rc = waitpid(pid, &raw, WNOHANG) } while rc == -1 && errno == EINTR
            guard rc != 0 else { return (nil, []) }
            let status = rc == pid ? ExitStatus(waitStatus: raw) : .exited(255)
            let waiters = state.waiters
            state.status = status
            state.waiters = []
            return (status, waiters)
        }
        guard let status else { return false }
        for waiter in waiters { waiter.resume(returning: status) }
        return true
    }

    // MARK: - Running to completion

    /// Runs a program to completion, feeding it `input` on standard input (which is then closed; `nil` gives
    /// `/dev/null`) and capturing its standard output and standard error; `options.stdin`, `stdout` and
    /// `stderr` are ignored. For CNI plugins, which must run in the node's network namespace.
    ///
    /// The pipes are pumped with `poll` on a dedicated thread, so the cooperative thread pool is not blocked and a
    /// child that writes a lot before it reads its input cannot deadlock. The call returns when the child has
    /// exited and every process holding its output pipes has closed them; cancellation is not observed.
    ///
    /// - Throws: `ProcessRunnerError` when the program cannot be started, or moving its bytes failed.
    public static func run(_ options: SpawnOptions, input: [UInt8]?) async throws -> ProcessResult {
        let name = options.executable
        var pipes: [Int32] = []
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard weft_pipe_cloexec(&fds) == 0 else {
                let error = errno
                for fd in pipes { _ = close(fd) }
                throw ProcessRunnerError(path: name, operation: "pipe2", errno: error)
            }
            pipes += fds
            return (fds[0], fds[1])
        }
        let output = try makePipe()
        let errors = try makePipe()
        let inputPipe = try input.map { _ in try makePipe() }

        var spawnOptions = options
        spawnOptions.stdin = inputPipe.map { .descriptor($0.read) } ?? .null
        spawnOptions.stdout = .descriptor(output.write)
        spawnOptions.stderr = .descriptor(errors.write)
        let child: ChildProcess
        do {
            child = try spawn(spawnOptions)
        } catch {
            for fd in pipes { _ = close(fd) }
            throw error
        }
        for fd in [output.write, errors.write, inputPipe?.read ?? -1] where fd >= 0 { _ = close(fd) }

        let io = CapturedIO(
            stdoutFD: output.read, stderrFD: errors.read, stdinFD: inputPipe?.write ?? -1, input: input ?? [])
        let captured = await io.pumpOnDedicatedThread()
        let status = await child.wait()
        if let failure = captured.failure {
            throw ProcessRunnerError(path: name, operation: failure.operation, errno: failure.errno)
        }
        let signal: Int32? = if case .signaled(let signal) = status { signal } else { nil }
        return ProcessResult(
            exitStatus: status.code, terminationSignal: signal, stdout: captured.stdout, stderr: captured.stderr)
    }

    // MARK: - Path lookup

    /// The path to execute: `name` itself when it has a slash, else the first executable regular file called
    /// `name` in the `PATH` of `environment` (as `ProcessRunner` does it).
    static func resolve(_ name: String, environment: [String: String]) throws -> String {
        if name.isEmpty { throw ProcessRunnerError(path: name, operation: "PATH lookup", errno: ENOENT) }
        if name.contains("/") { return name }
        let searchPath = environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        var sawPermissionDenied = false
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let dir = directory.isEmpty ? "." : String(directory)
            let candidate = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            var info = stat()
            guard stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return candidate }
            sawPermissionDenied = true
        }
        throw ProcessRunnerError(path: name, operation: "PATH lookup", errno: sawPermissionDenied ? EACCES : ENOENT)
    }
}

/// The process-wide reaper: polls its registered children every 20 ms from one task that runs only while there
/// are any.
private final class Reaper: Sendable {
    static let shared = Reaper()

    private struct State {
        var children: [ChildProcess] = []
        var polling = false
    }
    private let state = Mutex(State())

    func register(_ child: ChildProcess) {
        let start = state.withLock { state in
            state.children.append(child)
            defer { state.polling = true }
            return !state.polling
        }
        if start { Task.detached { await self.poll() } }
    }

    private func poll() async {
        while true {
            let children = state.withLock { $0.children }
            let reaped = Set(children.filter { $0.reap() }.map(\.pid))
            let done = state.withLock { state in
                state.children.removeAll { reaped.contains($0.pid) }
                if state.children.isEmpty { state.polling = false }
                return !state.polling
            }
            if done { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The parent's ends of a ``ChildProcess/run(_:input:)`` child's pipes, pumped with `poll` until both output
/// pipes reach end of file. Descriptors of -1 are absent or finished.
private struct CapturedIO: Sendable {
    var stdoutFD: Int32
    var stderrFD: Int32
    var stdinFD: Int32
    let input: [UInt8]
    var written = 0
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    /// The first system call that failed, if any.
    var failure: (operation: String, errno: Int32)?

    init(stdoutFD: Int32, stderrFD: Int32, stdinFD: Int32, input: [UInt8]) {
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
        self.stdinFD = stdinFD
        self.input = input
    }

    /// Pumps on a new detached thread (which blocks `SIGPIPE`, so that writing to a child that stopped reading
    /// yields `EPIPE`; a pending `SIGPIPE` goes away with the thread) and returns the finished state. Every
    /// descriptor is closed afterwards.
    func pumpOnDedicatedThread() async -> CapturedIO {
        let io = self
        return await withCheckedContinuation { continuation in
            let body: @Sendable () -> Void = {
                var pipeMask = sigset_t()
                sigemptyset(&pipeMask)
                sigaddset(&pipeMask, SIGPIPE)
                pthread_sigmask(SIG_BLOCK, &pipeMask, nil)
                var io = io
                io.pump()
                continuation.resume(returning: io)
            }
            let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, nil,
                { raw in
                    Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
                    return nil
                }, context)
            if rc == 0 {
                pthread_detach(thread)
            } else {
                Unmanaged<ThreadBody>.fromOpaque(context).release()
                var io = io
                io.failure = ("pthread_create", rc)
                io.closeAll()
                continuation.resume(returning: io)
            }
        }
    }

    /// Moves bytes until the child has closed its output or a call fails, then closes every descriptor.
    private mutating func pump() {
        defer { closeAll() }
        if stdinFD >= 0 {
            if input.isEmpty {
                finishInput()
            } else {
                _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK)
            }
        }
        let chunkSize = 65536
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var pollFDs: [pollfd] = []
        while stdoutFD >= 0 || stderrFD >= 0 || stdinFD >= 0 {
            pollFDs.removeAll(keepingCapacity: true)
            if stdoutFD >= 0 { pollFDs.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { pollFDs.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if stdinFD >= 0 { pollFDs.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if poll(&pollFDs, nfds_t(pollFDs.count), -1) == -1 {
                if errno == EINTR { continue }
                failure = ("poll", errno)
                return
            }
            for entry in pollFDs where entry.revents != 0 {
                if entry.fd == stdinFD {
                    writeInput()
                } else {
                    drain(entry.fd, buffer: buffer, size: chunkSize)
                }
                if failure != nil { return }
            }
        }
    }

    /// Reads once from a readable output pipe; closes it at end of file.
    private mutating func drain(_ fd: Int32, buffer: UnsafeMutableRawPointer, size: Int) {
        var n: Int
        repeat { n = read(fd, buffer, size) } while n == -1 && errno == EINTR
        if n > 0 {
            let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
            if fd == stdoutFD { stdout.append(contentsOf: bytes) } else { stderr.append(contentsOf: bytes) }
            return
        }
        if n == -1 { failure = ("read", errno) }
        _ = close(fd)
        if fd == stdoutFD { stdoutFD = -1 } else { stderrFD = -1 }
    }

    /// Writes as much input as the pipe takes; closes it when all is written or the child stopped reading.
    private mutating func writeInput() {
        while written < input.count {
            let n = input.withUnsafeBytes { bytes in
                write(stdinFD, bytes.baseAddress! + written, bytes.count - written)
            }
            if n > 0 {
                written += n
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return
            } else if errno != EINTR {
                if errno != EPIPE { failure = ("write", errno) }
                break
            }
        }
        finishInput()
    }

    private mutating func finishInput() {
        _ = close(stdinFD)
        stdinFD = -1
    }

    private mutating func closeAll() {
        for fd in [stdoutFD, stderrFD, stdinFD] where fd >= 0 { _ = close(fd) }
        stdoutFD = -1
        stderrFD = -1
        stdinFD = -1
    }
}

/// A thread's work, passed through `pthread_create`'s context pointer.
private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Finds the processes that live in given network namespaces, e.g. what is left in a lab's namespaces when it
/// is taken down.
public enum NamespaceProcesses {
    /// The pids, ascending, of the processes whose network namespace (`/proc/PID/ns/net`, that of the main
    /// thread) is one of the namespace files at `paths` (`/run/netns/NAME`, `/proc/PID/ns/net`), compared by
    /// device and inode. Paths that do not exist are skipped; so is the calling process.
    public static func pids(inNetworkNamespaces paths: [String]) -> [Int32] {
        struct Namespace: Hashable {
            var device: UInt64
            var inode: UInt64
            init(_ info: stat) {
                device = UInt64(info.st_dev)
                inode = UInt64(info.st_ino)
            }
        }
        var wanted = Set<Namespace>()
        for path in paths {
            var info = stat()
            if stat(path, &info) == 0 { wanted.insert(Namespace(info)) }
        }
        guard !wanted.isEmpty, let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        let me = getpid()
        var pids: [Int32] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid != me else { continue }
            var info = stat()
            // A process that has exited meanwhile, or a zombie, has no namespace to stat.
            if stat("/proc/\(pid)/ns/net", &info) == 0, wanted.contains(Namespace(info)) { pids.append(pid) }
        }
        return pids.sorted()
    }
}

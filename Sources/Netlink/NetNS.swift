import CWeftLinux
import Glibc
import Synchronization

/// A network namespace handle: an open file descriptor on an nsfs file (`/run/netns/NAME`, `/proc/PID/ns/net`).
///
/// Work that must happen inside the namespace goes through ``run(_:)``, which enters it on a dedicated thread
/// that exits afterwards; the caller's thread never changes namespace.
public final class NetNS: @unchecked Sendable {
    /// The path the handle was opened from.
    public let path: String
    /// The open file descriptor (`O_RDONLY | O_CLOEXEC`); valid until ``close()``.
    public let fd: Int32
    private let closed = Mutex(false)

    /// The directory where named namespaces live, as with `ip netns`.
    public static let namedDirectory = "/run/netns"

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close() }

    /// Opens the namespace file at `path`. A missing file fails with `ENOENT` and an operation naming the path.
    public static func open(path: String) throws -> NetNS {
        let fd = retryOnEINTR { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw NetlinkError.fromErrno("open netns \(path)") }
        return NetNS(path: path, fd: fd)
    }

    /// Opens the named namespace `/run/netns/NAME`.
    public static func open(name: String) throws -> NetNS {
        try open(path: "\(namedDirectory)/\(name)")
    }

    /// The network namespace of the calling thread.
    public static func current() throws -> NetNS {
        try open(path: "/proc/thread-self/ns/net")
    }

    /// Creates a new named namespace at `/run/netns/NAME`, like `ip netns add NAME`, and opens it.
    ///
    /// Makes `/run/netns` a shared mount (bind-mounting it onto itself first if needed), creates the file,
    /// then on a dedicated thread unshares a new network namespace and bind-mounts it onto the file.
    /// Fails with `EEXIST` if the name is taken.
    public static func create(name: String) throws -> NetNS {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw NetlinkError(operation: "create netns '\(name)'", errno: EINVAL)
        }
        try prepareNamedDirectory()
        let path = "\(namedDirectory)/\(name)"
        let fileFD = retryOnEINTR { Glibc.open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0) }
        guard fileFD >= 0 else { throw NetlinkError.fromErrno("create netns file \(path)") }
        _ = Glibc.close(fileFD)
        do {
            try DedicatedThread.run("netns create \(name)") {
                guard weft_unshare(weft_clone_newnet()) == 0 else {
                    throw NetlinkError.fromErrno("unshare(CLONE_NEWNET) for netns \(name)")
                }
                guard mount("/proc/thread-self/ns/net", path, "none", weft_ms_bind(), nil) == 0 else {
                    throw NetlinkError.fromErrno("bind mount netns onto \(path)")
                }
            }
            return try open(path: path)
        } catch {
            _ = umount2(path, weft_mnt_detach())
            _ = unlink(path)
            throw error
        }
    }

    /// Deletes the named namespace: detaches the bind mount and removes the file. A missing name is not an error.
    /// A namespace name that says which process made it: `PREFIX-PID-SUFFIX`. A process killed before its
    /// cleanup runs leaves such namespaces behind; `removeAbandoned(prefix:)` finds them by the dead PID.
    public static func ownedName(prefix: String, _ suffix: String) -> String {
        "\(prefix)-\(getpid())-\(suffix)"
    }

    /// Deletes the named namespaces `PREFIX-…` whose maker is gone: the PID after the prefix is not a running
    /// process, or there is none (names from before `ownedName`). Namespaces of running processes stay.
    /// Returns the names deleted.
    @discardableResult
    public static func removeAbandoned(prefix: String) -> [String] {
        var names: [String] = []
        if let directory = opendir(namedDirectory) {
            while let entry = readdir(directory) {
                names.append(
                    withUnsafeBytes(of: entry.pointee.d_name) {
                        String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
                    })
            }
            closedir(directory)
        }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix + "-") {
            let owner = name.dropFirst(prefix.count + 1).prefix { $0 != "-" }
            if let pid = Int32(owner), pid > 0, kill(pid, 0) == 0 || Glibc.errno == EPERM { continue }
            if (try? delete(name: name)) != nil { removed.append(name) }
        }
        return removed
    }

    public static func delete(name: String) throws {
        let path = "\(namedDirectory)/\(name)"
        if umount2(path, weft_mnt_detach()) != 0 {
            let e = Glibc.errno
            // EINVAL: not a mount point (a stale file); ENOENT: gone already.
            if e != EINVAL && e != ENOENT { throw NetlinkError(operation: "umount netns \(path)", errno: e) }
        }
        if unlink(path) != 0 {
            let e = Glibc.errno
            if e != ENOENT { throw NetlinkError(operation: "unlink netns \(path)", errno: e) }
        }
    }

    /// Runs `body` on a fresh dedicated thread that has entered this namespace with `setns`, waits for it and
    /// returns or rethrows its result. The thread exits afterwards; the caller's thread is never moved.
    public func run<T: Sendable>(_ body: @Sendable () throws -> T) throws -> T {
        let fd = self.fd
        let path = self.path
        return try DedicatedThread.run("netns \(path)") {
            guard weft_setns(fd, weft_clone_newnet()) == 0 else {
                throw NetlinkError.fromErrno("setns \(path)")
            }
            return try body()
        }
    }

    /// Closes the file descriptor. Safe to call more than once.
    public func close() {
        let wasClosed = closed.withLock { c in
            defer { c = true }
            return c
        }
        if !wasClosed { _ = Glibc.close(fd) }
    }

    /// The namespace's inode number (`st_ino`); two handles name the same namespace when the inodes (and devices)
    /// are equal.
    public var inode: UInt64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return 0 }
        return UInt64(st.st_ino)
    }

    /// Whether both handles refer to the same namespace (same device and inode).
    public func isSame(as other: NetNS) -> Bool {
        var a = stat()
        var b = stat()
        guard fstat(fd, &a) == 0, fstat(other.fd, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// Makes `/run/netns` exist and be a shared mount, as iproute2 does, so that namespaces mounted there
    /// propagate to other mount namespaces.
    private static func prepareNamedDirectory() throws {
        try setupLock.withLock { _ in try prepareNamedDirectoryLocked() }
    }

    private static let setupLock = Mutex(())

    private static func prepareNamedDirectoryLocked() throws {
        if mkdir("/run", 0o755) != 0 && Glibc.errno != EEXIST { throw NetlinkError.fromErrno("mkdir /run") }
        if mkdir(namedDirectory, 0o755) != 0 && Glibc.errno != EEXIST {
            throw NetlinkError.fromErrno("mkdir \(namedDirectory)")
        }
        var madeMountPoint = false
        while true {
            if mount("", namedDirectory, "none", weft_ms_shared() | weft_ms_rec(), nil) == 0 { return }
            let e = Glibc.errno
            guard e == EINVAL, !madeMountPoint else {
                throw NetlinkError(operation: "mount --make-rshared \(namedDirectory)", errno: e)
            }
            guard mount(namedDirectory, namedDirectory, "none", weft_ms_bind() | weft_ms_rec(), nil) == 0 else {
                throw NetlinkError.fromErrno("mount --rbind \(namedDirectory) \(namedDirectory)")
            }
            madeMountPoint = true
        }
    }
}

/// Repeats a system call while it fails with `EINTR`.
@inline(__always)
func retryOnEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let r = call()
        if r >= 0 || Glibc.errno != EINTR { return r }
    }
}

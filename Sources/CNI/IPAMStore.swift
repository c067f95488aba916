import Glibc
import WeftNet

/// host-local's on-disk store, compatible with its layout (plugins/pkg/ipam/host-local/backend/disk):
/// `DATADIR/NETWORK/<ip>` holds `containerID\r\nifname`; `last_reserved_ip.<set>` remembers where round-robin
/// continues; `lock` is held with flock(2) across a whole ADD or DEL so concurrent invocations are safe.
public final class IPAMStore {
    public let directory: String
    private var lockFD: Int32 = -1

    public struct Reservation: Sendable, Hashable {
        public var ip: IPAddress
        public var containerID: String
        public var ifname: String
    }

    public init(dataDir: String, network: String) throws {
        directory = dataDir + "/" + network
        try FileSystem.makeDirectories(directory)
    }

    deinit { unlock() }

    /// Runs `body` holding the store's exclusive lock.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        try lock()
        defer { unlock() }
        return try body()
    }

    private func lock() throws {
        let fd = Glibc.open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CNIError(.ioFailure, "ipam: cannot open lock \(directory)/lock: \(FileSystem.errorText())")
        }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = FileSystem.errorText()
            Glibc.close(fd)
            throw CNIError(.ioFailure, "ipam: cannot lock \(directory)/lock: \(e)")
        }
        lockFD = fd
    }

    private func unlock() {
        if lockFD >= 0 {
            Glibc.close(lockFD)  // closing releases the flock
            lockFD = -1
        }
    }

    private func path(_ ip: IPAddress) -> String { directory + "/" + ip.description }

    /// Reserves `ip`; returns false if it is already taken.
    public func reserve(_ ip: IPAddress, containerID: String, ifname: String, rangeSet: Int) throws -> Bool {
        let fd = Glibc.open(path(ip), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw CNIError(.ioFailure, "ipam: cannot reserve \(ip) in \(directory): \(FileSystem.errorText())")
        }
        let content = containerID + "\r\n" + ifname
        let ok = FileSystem.writeAll(fd, Array(content.utf8))
        Glibc.close(fd)
        guard ok else {
            unlink(path(ip))
            throw CNIError(.ioFailure, "ipam: cannot write \(path(ip)): \(FileSystem.errorText())")
        }
        // Only a hint for round robin (an unreadable one restarts at the range start): written in place, as
        // host-local does, without the cost of a temporary file and rename.
        try FileSystem.overwriteFile(directory + "/last_reserved_ip.\(rangeSet)", Array(ip.description.utf8))
        return true
    }

    public func lastReserved(rangeSet: Int) -> IPAddress? {
        FileSystem.readFile(directory + "/last_reserved_ip.\(rangeSet)").flatMap {
            IPAddress($0.trimmingWhitespace())
        }
    }

    public func isReserved(_ ip: IPAddress) -> Bool { access(path(ip), F_OK) == 0 }

    /// Every reservation in the store.
    public func reservations() -> [Reservation] {
        FileSystem.listDirectory(directory).compactMap { name in
            guard let ip = IPAddress(name), let content = FileSystem.readFile(directory + "/" + name) else {
                return nil
            }
            let lines = content.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\r\n" || $0 == "\n" })
            let id = lines.first.map { String($0).trimmingWhitespace() } ?? ""
            let ifname = lines.count > 1 ? String(lines[1]).trimmingWhitespace() : ""
            return Reservation(ip: ip, containerID: id, ifname: ifname)
        }
    }

    public func reservations(containerID: String, ifname: String) -> [IPAddress] {
        reservations().filter { $0.containerID == containerID && $0.ifname == ifname }.map(\.ip).sorted()
    }

    /// Releases every address of the attachment; returns what was released.
    @discardableResult
    public func release(containerID: String, ifname: String) -> [IPAddress] {
        let ips = reservations(containerID: containerID, ifname: ifname)
        for ip in ips { unlink(path(ip)) }
        return ips
    }

    public func release(_ ip: IPAddress) { unlink(path(ip)) }

    /// Whether the store's directory can be written now (STATUS).
    public func isWritable() -> Bool { access(directory, W_OK) == 0 }
}

import Glibc

/// At most `count` holders on a host at once, across processes: slot files `0.lock` … `<count-1>.lock` in a
/// directory, each held by an exclusive `flock`. A process tries every slot without blocking, starting at one
/// chosen by a hash of its key (so concurrent callers spread out), and polls while all are taken: 50 pods
/// starting together queue on the slots instead of running 100 plugins at once (issue 9, "Bounded
/// concurrency"). The kernel drops a lock when its holder exits, so a killed weft-cni frees its slot.
public struct ConcurrencySlots: Sendable {
    public var directory: String
    public var count: Int

    public init(directory: String, count: Int) {
        self.directory = directory
        self.count = max(1, count)
    }

    /// A held slot; `release` (or the process's exit) frees it.
    public final class Slot: Sendable {
        public let index: Int
        let fd: Int32
        init(index: Int, fd: Int32) {
            self.index = index
            self.fd = fd
        }
        public func release() { close(fd) }
    }

    /// Takes a free slot, waiting for one when all are held: every slot is tried without blocking, then again
    /// after 5–25 ms (jittered, so waiters do not retry in step), until one is free. Polling rather than blocking
    /// on one slot lets a waiter take whichever slot frees first.
    public func acquire(key: String) throws -> Slot {
        try FileSystem.makeDirectories(directory, mode: 0o700)
        let start = Int(Self.hash(key) % UInt64(count))
        var round: UInt64 = 0
        while true {
            for offset in 0..<count {
                let index = (start + offset) % count
                let fd = try open(index)
                if flock(fd, LOCK_EX | LOCK_NB) == 0 { return Slot(index: index, fd: fd) }
                let failure = errno
                close(fd)
                guard failure == EWOULDBLOCK || failure == EINTR else {
                    throw CNIError(.ioFailure, "cannot lock \(path(index)): \(String(cString: strerror(failure)))")
                }
            }
            round += 1
            usleep(useconds_t(5000 + (Self.hash(key + "\(round)") % 20000)))
        }
    }

    /// Runs `body` holding a slot.
    public func withSlot<T>(key: String, _ body: () throws -> T) throws -> T {
        let slot = try acquire(key: key)
        defer { slot.release() }
        return try body()
    }

    func path(_ index: Int) -> String { directory + "/\(index).lock" }

    private func open(_ index: Int) throws -> Int32 {
        let fd = Glibc.open(path(index), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CNIError(.ioFailure, "cannot open \(path(index)): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// FNV-1a: stable across processes (Swift's `Hasher` is seeded per process).
    static func hash(_ key: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}

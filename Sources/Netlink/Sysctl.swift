import Glibc

/// Reads and writes kernel parameters under `/proc/sys`.
///
/// Network parameters (`net.*`) belong to the network namespace of the calling thread: call these inside
/// ``NetNS/run(_:)`` to affect another namespace.
public enum Sysctl {
    /// The file under `/proc/sys` for `key`. The dotted form (`net.ipv4.ip_forward`) has its dots turned into
    /// slashes; the slash form (`net/ipv4/conf/eth0.100/forwarding`) is used as is, so interface names with dots
    /// work there.
    public static func path(_ key: String) -> String {
        var k = key
        if k.hasPrefix("/proc/sys/") { k.removeFirst("/proc/sys/".count) }
        if !k.contains("/") { k = k.replacingAll(".", with: "/") }
        return "/proc/sys/" + k
    }

    /// The value of `key`, without the trailing newline.
    public static func read(_ key: String) throws -> String {
        let path = path(key)
        let fd = retryOnEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw NetlinkError.fromErrno("sysctl read \(path)") }
        defer { _ = close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { b in retryOnEINTR { Glibc.read(fd, b.baseAddress, b.count) } }
            guard n >= 0 else { throw NetlinkError.fromErrno("sysctl read \(path)") }
            if n == 0 { break }
            out.append(contentsOf: chunk[..<n])
        }
        while let last = out.last, last == UInt8(ascii: "\n") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes `value` to `key`.
    public static func write(_ key: String, _ value: String) throws {
        let path = path(key)
        let fd = retryOnEINTR { open(path, O_WRONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw NetlinkError.fromErrno("sysctl write \(path)") }
        defer { _ = close(fd) }
        let bytes = Array(value.utf8) + [UInt8(ascii: "\n")]
        let n = bytes.withUnsafeBytes { b in retryOnEINTR { Glibc.write(fd, b.baseAddress, b.count) } }
        guard n >= 0 else { throw NetlinkError.fromErrno("sysctl write \(path) = \(value)") }
        guard n == bytes.count else { throw NetlinkError(operation: "sysctl write \(path) (short write)", errno: EIO) }
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}

import Glibc

/// Small file helpers over Glibc, so the plugin needs no full Foundation.
enum FileSystem {
    static func errorText(_ e: Int32 = errno) -> String {
        String(cString: strerror(e)) + " (errno \(e))"
    }

    static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw CNIError(.ioFailure, "cannot create directory \(current): \(errorText())")
            }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    /// Writes a file atomically (temporary file + rename).
    static func writeFile(_ path: String, _ content: String) throws {
        try writeFile(path, Array(content.utf8))
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CNIError(.ioFailure, "cannot write \(path): \(errorText())") }
        let ok = writeAll(fd, bytes)
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let e = errorText()
            unlink(tmp)
            throw CNIError(.ioFailure, "cannot write \(path): \(e)")
        }
    }

    /// Writes a file in place (truncate and write), for content whose loss costs nothing.
    static func overwriteFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CNIError(.ioFailure, "cannot write \(path): \(errorText())") }
        defer { close(fd) }
        guard writeAll(fd, bytes) else { throw CNIError(.ioFailure, "cannot write \(path): \(errorText())") }
    }

    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    static func readFile(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func remove(_ path: String) { unlink(path) }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Small file helpers shared by the configuration loaders.
enum FileAccess {
    /// The bytes of a file, or a `KubeConfigError` naming the file and the field that pointed at it.
    static func read(_ path: String, field: String?, referencedFrom: String?) throws -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let message =
                field == nil
                ? "cannot read \(path): \(error)"
                : "cannot read file \(path) named by this field: \(error)"
            throw KubeConfigError(.unreadableFile, file: referencedFrom ?? path, field: field, message: message)
        }
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// `path` made absolute against the directory of `file` (kubectl resolves relative paths that way).
    static func resolve(_ path: String, relativeTo file: String?) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            return home + path.dropFirst()
        }
        guard let file, let slash = file.lastIndex(of: "/") else { return path }
        return String(file[..<slash]) + "/" + path
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    var trimmedWhitespace: String {
        let ws: Set<Character> = [" ", "\t", "\n", "\r"]
        guard let start = firstIndex(where: { !ws.contains($0) }) else { return "" }
        let end = lastIndex(where: { !ws.contains($0) })!
        return String(self[start...end])
    }
}

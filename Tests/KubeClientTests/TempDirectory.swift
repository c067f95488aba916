import Foundation

/// A directory under the system temp dir, removed by `withTempDirectory` whatever happens.
struct TempDirectory {
    let path: String

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }
}

func withTempDirectory<R>(_ body: (TempDirectory) async throws -> R) async throws -> R {
    let path = NSTemporaryDirectory() + "kubeclient-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(TempDirectory(path: path))
}

import APIServer
import Foundation
import KubeModel
import WeftNet

/// Runs `body` against a fresh server on an ephemeral loopback port, in a temporary data directory that is removed
/// afterwards (also when the body throws).
func withServer<T>(
    tls: Bool = false, authentication: Bool = false, dataDir: String? = nil,
    configure: (inout APIServerConfiguration) -> Void = { _ in },
    _ body: (APIServer, TestClient) async throws -> T
) async throws -> T {
    let directory = dataDir ?? makeTemporaryDirectory()
    defer { if dataDir == nil { removeTemporaryDirectory(directory) } }
    var configuration = APIServerConfiguration(dataDir: directory, port: 0, tls: tls, authentication: authentication)
    configure(&configuration)
    let server = try APIServer(configuration: configuration)
    let address = try await server.start()
    let client = TestClient(port: address.port, caPEM: server.caCertificatePEM, token: server.credentials?.adminToken)
    do {
        let result = try await body(server, client)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

/// Removes a test's data directory. Retries: SQLite may still be deleting its `-wal`/`-shm` files while the
/// stopped server's database is released, and FileManager gives up at the first file that vanishes under it
/// (which left directories behind in /tmp).
func removeTemporaryDirectory(_ path: String) {
    for _ in 0..<10 {
        if (try? FileManager.default.removeItem(atPath: path)) != nil || !FileManager.default.fileExists(atPath: path) {
            return
        }
        usleep(20_000)
    }
}

func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "weft-apiserver-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension JSONValue {
    /// The value at a dotted path (`metadata.name`; numeric steps index arrays).
    func at(_ path: String) -> JSONValue? {
        var current: JSONValue? = self
        for step in path.split(separator: ".") {
            if let index = Int(step), let array = current?.arrayValue {
                current = array.indices.contains(index) ? array[index] : nil
            } else {
                current = current?[String(step)]
            }
        }
        return current
    }

    func string(_ path: String) -> String? { at(path)?.stringValue }

    func number(_ path: String) -> Double? {
        if case .number(let n)? = at(path) { return n }
        return nil
    }

    /// The `metadata.name`s of a list's items.
    var itemNames: [String] { (self["items"]?.arrayValue ?? []).compactMap { $0.string("metadata.name") } }
}

func podJSON(_ name: String, namespace: String? = nil, labels: [String: String] = [:], node: String? = nil) -> String {
    let labelText = labels.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
    let namespaceText = namespace.map { ", \"namespace\": \"\($0)\"" } ?? ""
    let nodeText = node.map { ", \"nodeName\": \"\($0)\"" } ?? ""
    return """
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "\(name)"\(namespaceText), "labels": {\(labelText)}},
         "spec": {"containers": [{"name": "c", "image": "busybox"}]\(nodeText)}}
        """
}

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
    defer { if dataDir == nil { try? FileManager.default.removeItem(atPath: directory) } }
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

import KubeModel

/// A ConfigMap as the tests need it (KubeModel's own kinds may differ; the client is generic).
struct TestConfigMap: KubeObject {
    static let resource = Resources.configMap
    var apiVersion = "v1"
    var kind = "ConfigMap"
    var metadata: ObjectMeta
    var data: [String: String]?

    init(_ name: String, namespace: String = "default", data: [String: String]? = nil) {
        metadata = ObjectMeta(name: name, namespace: namespace)
        self.data = data
    }
}

/// Polls `condition` until it holds, failing after `timeout`.
func eventually(
    _ what: String = "condition", timeout: Duration = .seconds(10), _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

import Glibc
import Testing

/// `weft apiserver` as a user runs it: in the foreground, writing a kubeconfig that real clients use.
@Suite(.enabled(if: access("/usr/bin/kubectl", X_OK) == 0, "needs kubectl"))
struct APIServerCommandTests {
    /// A `weft apiserver` process on a random loopback port with its own data directory, stopped and removed by
    /// `stop()`.
    final class RunningServer {
        let dir: String
        let port: Int
        let pid: String
        var kubeconfig: String { dir + "/kubeconfig" }

        init() throws {
            var template = Array("/tmp/weft-apiserver-XXXXXX".utf8CString)
            dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
            port = 20000 + Int.random(in: 0..<20000)
            let weft = Harness.packageRoot + "/.build/debug/weft"
            pid = sh("\(weft) apiserver --data-dir \(dir) --listen 127.0.0.1:\(port) > \(dir)/log 2>&1 & echo $!")
                .output.trimmingCharacters()
            for _ in 0..<100 {
                if access(kubeconfig, F_OK) == 0, sh("kubectl --kubeconfig \(kubeconfig) get --raw /readyz").status == 0
                {
                    return
                }
                usleep(100_000)
            }
            let log = sh("cat \(dir)/log").output
            stop()
            throw HarnessError("weft apiserver did not become ready: \(log)")
        }

        func stop() {
            _ = sh("kill \(pid) 2>/dev/null; sleep 0.2; rm -rf '\(dir)'")
        }
    }

    @Test func kubectlTalksToWeftAPIServer() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let ns = sh("kubectl --kubeconfig \(server.kubeconfig) get namespaces")
        #expect(ns.status == 0 && ns.output.contains("kube-system"), "\(ns.output)")
        let missing = sh("kubectl --kubeconfig \(server.kubeconfig) get pod nope")
        #expect(missing.output.contains(#"Error from server (NotFound): pods "nope" not found"#), "\(missing.output)")
        // A token the server does not know is refused.
        let anonymous = sh(
            "kubectl --server https://127.0.0.1:\(server.port) --insecure-skip-tls-verify --token bogus get ns")
        #expect(anonymous.status != 0 && anonymous.output.contains("Unauthorized"), "\(anonymous.output)")
    }

    /// A second real client: the Python `kubernetes` package lists, creates, and watches through an informer-like
    /// loop (Tests/e2e/python-client.py).
    @Test(.enabled(if: sh("python3 -c 'import kubernetes'").status == 0, "needs the Python kubernetes package"))
    func pythonKubernetesClient() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let script = Harness.packageRoot + "/Tests/e2e/python-client.py"
        let r = sh("python3 \(script) \(server.kubeconfig) 60 2>&1")
        #expect(r.status == 0, "\(r.output)")
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

import Glibc
import Testing

/// `weft apiserver` as a user runs it: in the foreground, writing a kubeconfig that the real kubectl uses.
@Suite(.enabled(if: access("/usr/bin/kubectl", X_OK) == 0, "needs kubectl"))
struct APIServerCommandTests {
    @Test func kubectlTalksToWeftAPIServer() throws {
        let weft = Harness.packageRoot + "/.build/debug/weft"
        var template = Array("/tmp/weft-apiserver-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { _ = sh("rm -rf '\(dir)'") }
        let port = 20000 + Int.random(in: 0..<20000)
        let start = sh("\(weft) apiserver --data-dir \(dir) --listen 127.0.0.1:\(port) > \(dir)/log 2>&1 & echo $!")
        let pid = start.output.trimmingCharacters()
        defer { _ = sh("kill \(pid) 2>/dev/null; sleep 0.2") }
        var ready = false
        for _ in 0..<100 where !ready {
            ready =
                access("\(dir)/kubeconfig", F_OK) == 0
                && sh("kubectl --kubeconfig \(dir)/kubeconfig get --raw /readyz").status == 0
            if !ready { usleep(100_000) }
        }
        #expect(ready, "\(sh("cat \(dir)/log").output)")
        let ns = sh("kubectl --kubeconfig \(dir)/kubeconfig get namespaces")
        #expect(ns.status == 0 && ns.output.contains("kube-system"), "\(ns.output)")
        let missing = sh("kubectl --kubeconfig \(dir)/kubeconfig get pod nope")
        #expect(missing.output.contains(#"Error from server (NotFound): pods "nope" not found"#), "\(missing.output)")
        // A token the server does not know is refused.
        let anonymous = sh("kubectl --server https://127.0.0.1:\(port) --insecure-skip-tls-verify --token bogus get ns")
        #expect(anonymous.status != 0 && anonymous.output.contains("Unauthorized"), "\(anonymous.output)")
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

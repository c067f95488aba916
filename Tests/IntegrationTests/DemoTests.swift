import Glibc
import Testing

extension KernelTests {
    /// `weft demo` is what the README's first command runs: it must bring two pods up, prove they talk, and
    /// `weft demo down` must leave nothing.
    @Suite(.enabled(if: isRoot && access("/bin/busybox", X_OK) == 0, "needs root and busybox"))
    struct DemoTests {
        @Test func upThenDown() {
            let weft = Harness.packageRoot + "/.build/debug/weft"
            let up = sh("\(weft) demo up")
            defer { _ = sh("\(weft) demo down") }
            #expect(up.status == 0, "\(up.output)")
            #expect(up.output.contains("ok   pod a -> pod b over IPv6"))
            #expect(up.output.contains("ok   node -> hostPort 8080"))
            let down = sh("\(weft) demo down")
            #expect(down.status == 0, "\(down.output)")
            #expect(access("/run/netns/weft-demo-a", F_OK) != 0)
            #expect(sh("ip link show weft-demo0").status != 0)
            #expect(!sh("nft list ruleset").output.contains("weft-demo"))
            removeIdleWeftTables()
        }
    }
}

import Glibc
import Testing

extension KernelTests {
    /// weft-cni under a real runtime: containerd and runc start two busybox containers with `ctr run --cni` on a
    /// conflist whose first plugin is weft-cni (then the reference portmap); they reach each other by IP over
    /// IPv4 and IPv6; DEL and removal leave nothing behind. The script does the work; see its header.
    @Suite(.enabled(if: isRoot && access("/usr/bin/containerd", X_OK) == 0, "needs root and containerd"))
    struct ContainerdTests {
        @Test func twoBusyboxContainersTalkThroughWeftCNI() throws {
            let root = Harness.packageRoot
            let r = sh(
                "bash \(root)/Tests/e2e/containerd-cni.sh \(root)/Tests/e2e/weft-bridge.conflist \(Harness.pluginBinary) 2>&1"
            )
            #expect(r.status == 0, "\(r.output)")
            #expect(r.output.contains("PASS"))
            // As a runtime would once the network has no pods left: GC, which takes the network's rules.
            let h = try Harness()
            let gc = #"""
                {"cniVersion":"1.1.0","name":"weft-e2e","type":"weft-cni","bridge":"wfe2e0","ipMasq":true,
                 "stateDir":"\#(h.dir)/state","cni.dev/valid-attachments":[],
                 "ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/ipam","subnet":"10.88.0.0/24"}}
                """#
            let out = try h.cni("GC", config: gc)
            #expect(out.ok, "\(out.stdout)")
            #expect(!sh("nft list set inet weft-cni masq4").output.contains("weft-e2e"))
        }
    }
}

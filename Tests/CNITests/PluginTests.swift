import CNI
import NFTablesTesting
import Testing
import WeftNet

/// The plugin run in-process: verbs and errors that need no kernel.
@Suite struct PluginTests {
    func run(_ env: [String: String], _ stdin: String, role: PluginRole = .network) -> (Int32, JSONValue?) {
        let out = Plugin(role: role, nftables: { FakeNFTables() }).run(environment: env, stdin: Array(stdin.utf8))
        return (out.exitCode, try? JSONCoding.decode(JSONValue.self, from: out.stdout, what: "output"))
    }

    let config =
        #"{"cniVersion":"1.1.0","name":"n","type":"weft-cni","ipam":{"type":"weft-ipam","subnet":"10.40.0.0/24"}}"#

    @Test func versionListsSupportedVersions() {
        let (code, out) = run(["CNI_COMMAND": "VERSION"], #"{"cniVersion":"1.0.0"}"#)
        #expect(code == 0)
        #expect(out?["cniVersion"] == .string("1.0.0"))
        #expect(out?["supportedVersions"] == .array(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"].map { .string($0) }))
    }

    static let badEnvironments: [([String: String], UInt32)] = [
        ([String: String](), UInt32(4)),
        (["CNI_COMMAND": "FROB"], 4),
        (["CNI_COMMAND": "ADD", "CNI_NETNS": "/run/netns/x", "CNI_IFNAME": "eth0"], 4),  // no CNI_CONTAINERID
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/x"], 4),  // no CNI_IFNAME
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0"], 4),  // no CNI_NETNS
        (
            [
                "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/x",
                "CNI_IFNAME": "this-is-sixteen!",
            ], 4
        ),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/x", "CNI_IFNAME": "a/b"], 4),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c 1", "CNI_NETNS": "/run/netns/x", "CNI_IFNAME": "eth0"], 4),
    ]

    @Test(arguments: badEnvironments)
    func badEnvironment(env: [String: String], expected: UInt32) {
        let (code, out) = run(env, config)
        #expect(code != 0)
        #expect(out?["code"] == .number(Double(expected)), "\(env)")
        #expect(out?["msg"]?.stringValue?.isEmpty == false)
    }

    @Test func missingNetnsIsNamed() {
        let (code, out) = run(
            [
                "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/weft-does-not-exist",
                "CNI_IFNAME": "eth0",
                "CNI_PATH": "/nonexistent",
            ],
            #"{"cniVersion":"1.1.0","name":"n","type":"weft-cni"}"#)
        #expect(code != 0)
        #expect(out?["code"] == .number(4))
        #expect(out?["msg"]?.stringValue?.contains("/run/netns/weft-does-not-exist") == true)
    }

    @Test func errorsEchoTheConfigVersion() {
        let (_, out) = run(["CNI_COMMAND": "ADD"], #"{"cniVersion":"0.4.0","name":"n"}"#)
        #expect(out?["cniVersion"] == .string("0.4.0"))
    }

    @Test func checkNeedsVersion040() {
        let (code, out) = run(
            ["CNI_COMMAND": "CHECK", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0"],
            #"{"cniVersion":"0.3.1","name":"n"}"#)
        #expect(code != 0 && out?["code"] == .number(1))
    }

    @Test func gcAndStatusNeedVersion110() {
        for cmd in ["GC", "STATUS"] {
            let (code, out) = run(["CNI_COMMAND": cmd], #"{"cniVersion":"1.0.0","name":"n"}"#)
            #expect(code != 0 && out?["code"] == .number(1))
        }
    }

    @Test func statusReportsExhaustedRanges() throws {
        let dir = TempDir()
        let cfg =
            #"{"cniVersion":"1.1.0","name":"s","ipam":{"type":"weft-ipam","subnet":"10.41.0.0/30","dataDir":"\#(dir.path)"}}"#
        #expect(run(["CNI_COMMAND": "STATUS"], cfg).0 == 0)
        // The IPAM role allocates without a netns: fill the only free address.
        let add = run(
            ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0"], cfg, role: .ipam)
        #expect(add.0 == 0)
        #expect(add.1?["ips"]?.arrayValue?.first?["address"] == .string("10.41.0.2/30"))
        let (code, out) = run(["CNI_COMMAND": "STATUS"], cfg)
        #expect(code != 0 && out?["code"] == .number(50))
        // GC with no valid attachments frees it again.
        let gc = run(
            ["CNI_COMMAND": "GC"],
            #"{"cniVersion":"1.1.0","name":"s","cni.dev/valid-attachments":[],"ipam":{"type":"weft-ipam","subnet":"10.41.0.0/30","dataDir":"\#(dir.path)"}}"#,
            role: .ipam)
        #expect(gc.0 == 0)
        #expect(run(["CNI_COMMAND": "STATUS"], cfg).0 == 0)
    }

    @Test func ipamRoleDelIsIdempotent() {
        let dir = TempDir()
        let cfg =
            #"{"cniVersion":"1.1.0","name":"d","type":"bridge","ipam":{"type":"weft-ipam","subnet":"10.42.0.0/24","dataDir":"\#(dir.path)"}}"#
        let env = ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c1", "CNI_NETNS": "", "CNI_IFNAME": "eth0"]
        #expect(run(env, cfg, role: .ipam).0 == 0)
        #expect(run(env, cfg, role: .ipam).0 == 0)
    }
}

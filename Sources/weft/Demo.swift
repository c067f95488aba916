import ArgumentParser
import CNI
import Glibc
import NFTables
import Netlink
import WeftNet

/// A two-pod network on this machine, wired by the real weft-cni binary as a container runtime would call it.
/// It stands in for `weft lab` until the lab exists.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring up (or down) two pods on a weft-cni bridge, with a hostPort, to try by hand.",
        subcommands: [Up.self, Down.self],
        defaultSubcommand: Up.self
    )

    static let runDir = "/run/weft-demo"
    static let network = "weft-demo"
    static let bridge = "weft-demo0"
    static let pods = ["weft-demo-a", "weft-demo-b"]

    static func config(portMapping: Bool) -> String {
        let pm =
            portMapping
            ? #","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}"# : ""
        return #"""
            {"cniVersion":"1.1.0","name":"\#(network)","type":"weft-cni","bridge":"\#(bridge)","isDefaultGateway":true,
             "ipMasq":true,"stateDir":"\#(runDir)/state","ipam":{"type":"weft-ipam","dataDir":"\#(runDir)/ipam",
             "ranges":[[{"subnet":"10.244.0.0/24"}],[{"subnet":"fd00:244::/64"}]]}\#(pm)}
            """#
    }

    /// The weft-cni binary beside this executable.
    static var pluginBinary: String {
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        let path =
            n > 0 ? String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        return String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) + "/weft-cni"
    }

    static func cni(_ command: String, pod: String, portMapping: Bool) throws -> JSONValue? {
        let env = [
            "CNI_COMMAND": command, "CNI_CONTAINERID": pod, "CNI_NETNS": "/run/netns/" + pod, "CNI_IFNAME": "eth0",
            "CNI_PATH": runDir + "/bin",
        ]
        let r = try ProcessRunner.run(
            runDir + "/bin/weft-cni", arguments: [], environment: env,
            stdin: Array(config(portMapping: portMapping).utf8))
        guard r.succeeded else { throw ValidationError("weft-cni \(command) \(pod) failed: \(r.stdoutString)") }
        return try? JSONCoding.decode(JSONValue.self, from: r.stdout, what: "result")
    }

    static func shell(_ command: String) -> ProcessResult? {
        try? ProcessRunner.run(
            "/bin/sh", arguments: ["-c", command], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    static func requireRoot() throws {
        guard getuid() == 0 else { throw ValidationError("needs root (network namespaces, links, nftables)") }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the two pods and show that they talk.")

        func run() throws {
            try Demo.requireRoot()
            try? Down().run()
            let plugin = Demo.pluginBinary
            guard access(plugin, X_OK) == 0 else {
                throw ValidationError("weft-cni not found at \(plugin); run `swift build`")
            }
            for d in [Demo.runDir, Demo.runDir + "/bin", Demo.runDir + "/www"] { mkdir(d, 0o755) }
            symlink(plugin, Demo.runDir + "/bin/weft-cni")
            symlink(plugin, Demo.runDir + "/bin/weft-ipam")
            var addresses: [String: [String]] = [:]
            for (i, pod) in Demo.pods.enumerated() {
                _ = try NetNS.create(name: pod)
                _ = Demo.shell("ip -n \(pod) link set lo up")
                let result = try Demo.cni("ADD", pod: pod, portMapping: i == 1)
                addresses[pod] = (result?["ips"]?.arrayValue ?? []).compactMap { $0["address"]?.stringValue }
                print("\(pod): eth0 \(addresses[pod]!.joined(separator: " "))")
            }
            // Pod b serves HTTP on port 80 (hostPort 8080 on the node).
            let page = "hello from weft-demo-b\n"
            _ = Demo.shell("printf '\(page)' > \(Demo.runDir)/www/index.html")
            guard Demo.shell("ip netns exec weft-demo-b busybox httpd -p 80 -h \(Demo.runDir)/www")?.succeeded == true
            else {
                throw ValidationError("could not start busybox httpd in weft-demo-b (apt-get install busybox-static)")
            }
            let b4 = addresses["weft-demo-b"]?.first?.split(separator: "/").first.map(String.init) ?? ""
            let b6 = addresses["weft-demo-b"]?.last?.split(separator: "/").first.map(String.init) ?? ""
            let checks = [
                ("pod a -> pod b over IPv4", "ip netns exec weft-demo-a busybox wget -q -O - http://\(b4)/"),
                ("pod a -> pod b over IPv6", "ip netns exec weft-demo-a busybox wget -q -O - http://[\(b6)]/"),
                ("node -> hostPort 8080", "busybox wget -q -O - http://10.244.0.1:8080/"),
            ]
            var failed = false
            for (what, cmd) in checks {
                let r = Demo.shell(cmd)
                let ok = r?.succeeded == true && r?.stdoutString == page
                failed = failed || !ok
                print("\(ok ? "ok  " : "FAIL") \(what)")
            }
            print(
                """

                Try it:
                  ip netns exec weft-demo-a ping -c1 \(b4)
                  ip netns exec weft-demo-a busybox wget -q -O - http://[\(b6)]/
                  nft list table inet weft-cni
                Remove it: weft demo down
                """)
            if failed { throw ExitCode(1) }
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the demo pods, their network and files.")

        func run() throws {
            try Demo.requireRoot()
            for pod in Demo.pods where access("/run/netns/" + pod, F_OK) == 0 {
                _ = Demo.shell("ip netns pids \(pod) | xargs -r kill")
                if access(Demo.runDir + "/bin/weft-cni", X_OK) == 0 {
                    _ = try? Demo.cni("DEL", pod: pod, portMapping: pod == "weft-demo-b")
                }
                try? NetNS.delete(name: pod)
            }
            // GC with no valid attachment: the network's masquerade rules and its bridge go too.
            if access(Demo.runDir + "/bin/weft-cni", X_OK) == 0 {
                let gc = String(Demo.config(portMapping: false).dropLast()) + #","cni.dev/valid-attachments":[]}"#
                _ = try? ProcessRunner.run(
                    Demo.runDir + "/bin/weft-cni", arguments: [],
                    environment: ["CNI_COMMAND": "GC", "CNI_PATH": Demo.runDir + "/bin"], stdin: Array(gc.utf8))
            }
            if let s = try? RouteSocket() {
                if let l = try? s.link(named: Demo.bridge) { try? s.deleteLink(index: l.index) }
                s.close()
            }
            _ = Demo.shell("rm -rf \(Demo.runDir)")
        }
    }
}

/// Installs weft-cni into a CNI bin directory, with the `weft-ipam` link, as a node agent would.
struct CNIInstall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-cni", abstract: "Copy weft-cni (and the weft-ipam link) into a CNI bin directory.")

    @Option(help: "The CNI bin directory.") var dir = "/opt/cni/bin"

    func run() throws {
        let source = Demo.pluginBinary
        guard
            let r = Demo.shell(
                "install -D -m 0755 '\(source)' '\(dir)/weft-cni.tmp' && mv -f '\(dir)/weft-cni.tmp' '\(dir)/weft-cni' && ln -sf weft-cni '\(dir)/weft-ipam'"
            ),
            r.succeeded
        else {
            throw ValidationError("could not install \(source) into \(dir)")
        }
        print("installed \(dir)/weft-cni and \(dir)/weft-ipam")
    }
}

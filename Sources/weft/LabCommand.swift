import ArgumentParser
import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab

/// `weft lab`: a multi-node Kubernetes network on this machine.
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "A Kubernetes cluster's network on one machine: API server, nodes and pods as namespaces.",
        discussion: """
            `weft lab up` starts a lab in the background and returns once its pods are Ready; `kubectl` reaches \
            it with the kubeconfig it prints. Pods run host programs (`weft serve`, `weft probe`, anything in \
            PATH) in their own network namespaces, wired by weft-cni; each node runs `weft agent`.
            """,
        subcommands: [
            Up.self, Down.self, Status.self, Kubeconfig.self, Exec.self, Logs.self, NodeCommand.self, Run.self,
        ]
    )

    struct LabName: ParsableArguments {
        @Option(help: "The lab's name.") var name = "weft"
    }

    /// This executable (what `weft` in a pod's command means).
    static var weftBinary: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// weft-cni, installed beside this executable.
    static var cniPlugin: String {
        let binary = weftBinary
        return String(binary[..<(binary.lastIndex(of: "/") ?? binary.startIndex)]) + "/weft-cni"
    }

    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func spec(_ name: String) throws -> LabSpec {
        guard let spec = try LabSpec.load(name: name) else { throw LabControlError.noSuchLab(name) }
        return spec
    }

    static func adminClient(_ spec: LabSpec) throws -> KubeClient {
        try KubeClient(
            configuration: try KubeConfig.load(path: LabPaths(spec.topology).kubeconfig).clientConfiguration())
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a lab, apply manifests and wait until their pods are Ready.")

        @OptionGroup var lab: LabName
        @Option(help: "How many nodes.") var nodes = 3
        @Option(help: "How nodes reach each other's pods: vxlan or host-gw.") var overlay: LabOverlay = .vxlan
        @Option(help: "Pod and service addresses: ipv4, ipv6 or dual.") var ipFamily: LabIPFamily = .dual
        @Option(name: .short, help: "A manifest file or directory to apply (repeatable).") var file: [String] = []
        @Option(help: "How long to wait for the manifests' pods, in seconds.") var timeout = 120
        @Option(
            help: """
                An upstream resolver for names outside the cluster zone (repeatable, host or host:port; default: \
                none, such names are refused).
                """)
        var dnsUpstream: [String] = []

        func run() async throws {
            // Everything to apply is read and checked before anything is made.
            let manifests = try LabManifests.load(file)
            let spec = try await LabControl.create(
                name: lab.name, nodes: nodes, overlay: overlay, ipFamily: ipFamily, weftBinary: LabCommand.weftBinary,
                progress: { LabCommand.say("  " + $0) })
            let paths = LabPaths(spec.topology)
            // The cluster DNS and the ingress proxy first, then the user's objects; up waits for all.
            let all = LabManifests(
                items: try LabDNS.manifests(spec: spec, upstreams: dnsUpstream).items
                    + LabIngress.manifests(spec: spec).items + manifests.items)
            let client = try LabCommand.adminClient(spec)
            do {
                try await all.apply(with: client, progress: { LabCommand.say("  " + $0) })
                try await all.waitUntilReady(
                    with: client, timeout: .seconds(timeout), progress: { LabCommand.say("  " + $0) })
            } catch {
                try? await client.shutdown()
                LabCommand.say("lab \(spec.name) is up, but: \(error)")
                LabCommand.say("export KUBECONFIG=\(paths.kubeconfig)")
                throw ExitCode(1)
            }
            try? await client.shutdown()
            LabCommand.say(
                """

                lab \(spec.name) is up: \(spec.nodes.count) nodes, \(spec.overlay.rawValue), \(spec.ipFamily.rawValue).
                  export KUBECONFIG=\(paths.kubeconfig)
                  kubectl get nodes,pods -A -o wide
                  weft lab exec [-n NAMESPACE] POD -- weft probe --protocol http ADDRESS:8080
                  weft lab exec --host client -- ping -c1 \(spec.topology.node(1).addresses.v4)
                  weft lab down\(spec.name == "weft" ? "" : " --name \(spec.name)")
                """)
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a lab: processes, namespaces, links, nft tables, routes and files.")

        @OptionGroup var lab: LabName

        func run() async throws {
            try LabControl.destroy(name: lab.name)
            LabCommand.say("lab \(lab.name) removed")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the labs on this machine and their nodes.")

        func run() async throws {
            let names = LabControl.names()
            if names.isEmpty {
                LabCommand.say("no labs; start one with `weft lab up`")
                return
            }
            for name in names {
                guard let spec = try? LabSpec.load(name: name) else {
                    LabCommand.say("\(name): incomplete (remove it with `weft lab down --name \(name)`)")
                    continue
                }
                let running = LabControl.isRunning(spec)
                LabCommand.say(
                    "\(name): \(running ? "running" : "stopped (remove it with `weft lab down --name \(name)`)"), "
                        + "\(spec.overlay.rawValue), \(spec.ipFamily.rawValue), kubeconfig "
                        + LabPaths(spec.topology).kubeconfig)
                guard running, let client = try? LabCommand.adminClient(spec) else { continue }
                let nodes = (try? await client.list(Node.self).items) ?? []
                let pods = (try? await client.list(Pod.self).items) ?? []
                for node in nodes {
                    let addresses = (node.status?.addresses ?? []).filter { $0.type == "InternalIP" }.map(\.address)
                    let count = pods.filter { $0.spec?.nodeName == node.metadata.name }.count
                    LabCommand.say(
                        "  \(node.metadata.name ?? "")  \(node.isReady ? "Ready" : "NotReady")  "
                            + "\(addresses.joined(separator: ","))  pods \((node.spec?.podCIDRs ?? []).joined(separator: ","))  "
                            + "\(count) pod\(count == 1 ? "" : "s")")
                }
                try? await client.shutdown()
            }
        }
    }

    struct Kubeconfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the path of a lab's admin kubeconfig.")

        @OptionGroup var lab: LabName

        func run() async throws {
            let spec = try LabCommand.spec(lab.name)
            LabCommand.say(LabPaths(spec.topology).kubeconfig)
        }
    }

    struct Exec: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command in a pod's network namespace (or a lab host's); exit with its status.",
            discussion: """
                In a pod: its network namespace, resolv.conf, hosts file and hostname. With --host: the lab's \
                external client (`client`) or a node (`node-1`, …). `weft` as the command is the lab's binary.
                """)

        @OptionGroup var lab: LabName
        @Option(name: .shortAndLong, help: "The pod's namespace.") var namespace = "default"
        @Option(name: .shortAndLong, help: "The container whose environment to use (default: the first).")
        var container: String?
        @Option(help: "A lab host instead of a pod: client or node-N.") var host: String?
        @Argument(help: "The pod.") var pod: String?
        @Argument(parsing: .postTerminator, help: "The command, after --.") var command: [String] = []

        func validate() throws {
            guard !command.isEmpty else { throw ValidationError("give the command after --") }
            guard (pod == nil) != (host == nil) else { throw ValidationError("give either a pod or --host") }
        }

        func run() async throws {
            let spec = try LabCommand.spec(lab.name)
            var options = SpawnOptions(
                executable: command[0] == "weft" ? LabCommand.weftBinary : command[0],
                arguments: Array(command.dropFirst()), environment: ProcessInfo.processInfo.environment)
            if let host {
                let place: LabHost
                if host == "client" {
                    place = spec.topology.client
                } else {
                    let number = try LabControl.nodeNumber(host)
                    guard spec.nodes.contains(number) else {
                        throw LabControlError.invalid("lab \(spec.name) has no \(host)")
                    }
                    place = spec.topology.node(number)
                }
                options.networkNamespace = "/run/netns/" + place.namespace
            } else if let pod {
                let place = try await LabControl.place(of: pod, namespace: namespace, in: spec)
                options.networkNamespace = place.networkNamespace
                options.resolvConf = place.directory + "/resolv.conf"
                options.hostsFile = place.directory + "/hosts"
                options.hostname = place.pod.spec?.hostNetwork == true ? place.node.name : place.pod.metadata.name
                // The container's environment, as `kubectl exec` gives it (the first container's by default).
                let containers = place.pod.spec?.containers ?? []
                guard let chosen = container.map({ name in containers.first { $0.name == name } }) ?? containers.first
                else {
                    throw LabControlError.invalid("pod \(namespace)/\(pod) has no container \(container ?? "")")
                }
                let facts = ContainerLaunch.PodFacts(
                    podIPs: (place.pod.status?.podIPs ?? []).map(\.ip),
                    hostIPs: (place.pod.status?.hostIPs ?? []).map(\.ip))
                if case .success(let launch) = ContainerLaunch.make(
                    pod: place.pod, container: chosen, facts: facts, weftBinary: LabCommand.weftBinary)
                {
                    options.environment = launch.environment
                }
            }
            options.stdin = .inherit
            options.stdout = .inherit
            options.stderr = .inherit
            let process = try ChildProcess.spawn(options)
            let status = await process.wait()
            throw ExitCode(status.code)
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a pod container's output.")

        @OptionGroup var lab: LabName
        @Option(name: .shortAndLong, help: "The pod's namespace.") var namespace = "default"
        @Option(name: .shortAndLong, help: "The container (default: the first).") var container: String?
        @Argument(help: "The pod.") var pod: String

        func run() async throws {
            let spec = try LabCommand.spec(lab.name)
            let place = try await LabControl.place(of: pod, namespace: namespace, in: spec)
            guard let name = container ?? place.pod.spec?.containers.first?.name else {
                throw LabControlError.invalid("pod \(namespace)/\(pod) has no containers")
            }
            guard (place.pod.spec?.containers ?? []).contains(where: { $0.name == name }) else {
                throw LabControlError.invalid("pod \(namespace)/\(pod) has no container \(name)")
            }
            let path = place.directory + "/" + name + ".log"
            guard let data = FileManager.default.contents(atPath: path) else { return }
            FileHandle.standardOutput.write(data)
        }
    }

    struct NodeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node", abstract: "Add or remove a node of a running lab.",
            subcommands: [Add.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a node (node-N) and wait until it is Ready.")
            @OptionGroup var lab: LabName
            @Argument(help: "The node: node-N.") var node: String

            func run() async throws {
                try await LabControl.addNode(name: lab.name, number: try LabControl.nodeNumber(node))
                LabCommand.say("\(node) added to lab \(lab.name)")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a node: its pods, agent, Node object and namespace.")
            @OptionGroup var lab: LabName
            @Argument(help: "The node: node-N.") var node: String

            func run() async throws {
                try await LabControl.removeNode(name: lab.name, number: try LabControl.nodeNumber(node))
                LabCommand.say("\(node) removed from lab \(lab.name)")
            }
        }
    }

    /// The lab's supervisor, started by `up` in the background.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a lab's control plane in the foreground (what `weft lab up` starts).",
            shouldDisplay: false)

        @OptionGroup var lab: LabName

        func run() async throws {
            try await LabSupervisor(
                name: lab.name, weftBinary: LabCommand.weftBinary, cniPlugin: LabCommand.cniPlugin
            ).run()
        }
    }
}

extension LabOverlay: ExpressibleByArgument {}
extension LabIPFamily: ExpressibleByArgument {}

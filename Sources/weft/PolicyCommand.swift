import ArgumentParser
import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import Policy
import WeftNet

/// `weft policy`: network policy tools.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Network policy tools.", subcommands: [Trace.self])

    /// `weft policy trace`: the verdict of a new connection in each direction and the rule that decided it.
    struct Trace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain whether network policies allow a connection, and which rule decides.",
            discussion: """
                SOURCE and DESTINATION are pods (NAMESPACE/NAME) or IP addresses. Lists the cluster's pods, \
                namespaces, nodes, NetworkPolicies, AdminNetworkPolicies and BaselineAdminNetworkPolicies, compiles \
                them as `weft agent` does for the node of each pod, and prints the egress verdict at the source's \
                node and the ingress verdict at the destination's node, each with the rule that decided \
                (np:NAMESPACE/NAME ingress[N], anp:NAME egress "RULE", banp:default …). \
                Exit 0: allowed both ways. Exit 1: denied. Exit 2: bad arguments or an API error.
                """
        )

        @Argument(help: ArgumentHelp("A pod (NAMESPACE/NAME) or an IP address.", valueName: "source"))
        var source: String?
        @Argument(help: ArgumentHelp("A pod (NAMESPACE/NAME) or an IP address.", valueName: "destination"))
        var destination: String?
        @Option(help: "The destination port (1-65535).") var port: String?
        @Option(name: .customLong("protocol"), help: "TCP, UDP or SCTP.") var transport = "TCP"
        @Option(help: "kubeconfig file (default: $KUBECONFIG or ~/.kube/config).") var kubeconfig: String?
        @Option(help: "Use the admin kubeconfig of this `weft lab` (instead of --kubeconfig).") var lab: String?
        @Option(name: .shortAndLong, help: "text or json.") var output = "text"

        /// The exit code of bad arguments and API errors.
        static let usageExitCode: Int32 = 2

        /// Whether `arguments` (a whole command line) run this command: its usage errors exit 2 (see `Weft.main`).
        static func isInvoked(_ arguments: [String]) -> Bool {
            let words = arguments.dropFirst().filter { !$0.hasPrefix("-") }
            return words.prefix(2) == ["policy", "trace"]
        }

        func fail(_ message: String) -> ExitCode {
            var line = Array("weft policy trace: \(message)\n".utf8)
            _ = write(STDERR_FILENO, &line, line.count)
            return ExitCode(Self.usageExitCode)
        }

        func run() async throws {
            guard let source, let destination else { throw fail("need a SOURCE and a DESTINATION") }
            guard let port else { throw fail("need --port") }
            guard ["text", "json"].contains(output) else { throw fail("--output must be text or json") }
            guard kubeconfig == nil || lab == nil else { throw fail("give --kubeconfig or --lab, not both") }
            let query: PolicyTraceQuery
            do {
                query = try PolicyTraceQuery(
                    source: source, destination: destination, protocol: transport, port: port)
            } catch {
                throw fail(error.message)
            }
            let client: KubeClient
            do {
                client = try KubeClient(configuration: try clientConfiguration())
            } catch {
                throw fail("\(error)")
            }
            let report: PolicyTraceReport
            do {
                let (inputs, nodes) = try await Self.fetch(client)
                try? await client.shutdown()
                report = try PolicyTraceReport.trace(query, inputs: inputs, nodes: nodes)
            } catch let error as PolicyTraceError {
                throw fail(error.message)
            } catch {
                try? await client.shutdown()
                throw fail("\(error)")
            }
            let text = output == "json" ? String(decoding: report.json.serialized(), as: UTF8.self) + "\n" : report.text
            FileHandle.standardOutput.write(Data(text.utf8))
            if !report.allowed { throw ExitCode(1) }
        }

        func clientConfiguration() throws -> ClientConfiguration {
            if let lab {
                guard let spec = try LabSpec.load(name: lab) else { throw LabControlError.noSuchLab(lab) }
                return try KubeConfig.load(path: LabPaths(spec.topology).kubeconfig).clientConfiguration()
            }
            return try ClientConfiguration.forCommand(kubeconfig: kubeconfig)
        }

        /// What the enforcer reads from the API. The admin kinds and Nodes are optional, as for `weft agent`: a
        /// server that does not serve them (404) or forbids them (403) has none.
        static func fetch(_ client: KubeClient) async throws -> (PolicyInputs, [Node]) {
            func optional<T: KubeObject>(_ type: T.Type) async throws -> [T] {
                do {
                    return try await client.list(type).items
                } catch let error as KubeAPIError where error.isNotFound || error.httpStatus == 403 {
                    return []
                }
            }
            async let pods = client.list(Pod.self).items
            async let namespaces = client.list(Namespace.self).items
            async let networkPolicies = client.list(NetworkPolicy.self).items
            async let admin = optional(AdminNetworkPolicy.self)
            async let baseline = optional(BaselineAdminNetworkPolicy.self)
            async let nodes = optional(Node.self)
            let nodeList = try await nodes
            let inputs = PolicyInputs(
                networkPolicies: try await networkPolicies, adminNetworkPolicies: try await admin,
                baselineAdminNetworkPolicies: try await baseline, pods: try await pods,
                namespaces: try await namespaces, nodes: nodeList)
            return (inputs, nodeList)
        }
    }
}

import Foundation
import KubeClient
import Logging

/// What every pod worker of one lab node shares: the node, its files, the API client and the CNI runtime.
struct NodeContext: Sendable {
    let spec: LabSpec
    let host: LabHost
    let paths: LabPaths
    let client: KubeClient
    let cni: CNIRuntime
    /// The lab's `weft` binary (what `weft` in a container's command means, and the probe program).
    let weftBinary: String
    let logger: Logger
    /// The node's underlay addresses in the lab's families (a pod's `hostIPs`).
    let hostIPs: [String]
    /// The `kubernetes` Service's address and port, for the pods' environment.
    let apiServer: (host: String, port: Int)?
    /// The machine's resolv.conf, for pods with `dnsPolicy: Default`.
    let nodeResolvConf: String

    /// The node's network namespace file.
    var namespacePath: String { "/run/netns/" + host.namespace }
}

import WeftNet

/// Everything one lab's network is made of, by name and address: derived only from the lab's name, its index
/// (unique among the labs on the machine) and its node count, so that `weft lab up`, `weft lab down` (also after a
/// crash that left no state behind but the index) and the tests agree on what the lab owns.
///
/// The shape (issue 4): a root network namespace `weft-NAME` holds the underlay bridge; each node is a namespace
/// `weft-NAME.node-I` with one underlay interface `eth0` (a macvlan on the bridge); the external client host is `weft-NAME.client` (the dot
/// cannot occur in a lab name, so lab `a`'s namespaces never look like lab `a-b`'s); the
/// machine itself joins the underlay through one veth `wlINDEXh` (its address is where the API server listens,
/// so node agents and kubectl reach the same address). Nothing in the lab has a default route: no packet can
/// leave the machine. Underlay addresses come from 198.18.0.0/15 (RFC 2544's benchmarking range, never routed on
/// the internet) and the ULA prefix fd77:6566:74::/48 ("weft"), one /24 and one /64 per lab index.
public struct LabTopology: Sendable, Equatable {
    public let name: String
    public let index: Int
    public let nodeCount: Int

    /// The most labs side by side (one underlay /24 each).
    public static let maximumIndex = 253
    /// The most nodes in one lab (underlay addresses .10 … .209).
    public static let maximumNodes = 200

    public init(name: String, index: Int, nodeCount: Int) throws(LabError) {
        try Self.validate(name: name)
        guard (0...Self.maximumIndex).contains(index) else { throw .invalidIndex(index) }
        guard (1...Self.maximumNodes).contains(nodeCount) else { throw .invalidNodeCount(nodeCount) }
        self.name = name
        self.index = index
        self.nodeCount = nodeCount
    }

    /// A lab name: 1–12 lowercase letters, digits and inner hyphens (it becomes part of namespace names and of a
    /// Kubernetes-style cluster name).
    public static func validate(name: String) throws(LabError) {
        let bytes = Array(name.utf8)
        let allowed = bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-")
        }
        guard (1...12).contains(bytes.count), allowed, bytes.first != UInt8(ascii: "-"),
            bytes.last != UInt8(ascii: "-")
        else { throw .invalidName(name) }
    }

    /// The lowest index not in `taken`, or nil when every index is in use.
    public static func freeIndex(taken: Set<Int>) -> Int? {
        (0...maximumIndex).first { !taken.contains($0) }
    }

    // MARK: Namespaces and links

    /// The namespace that holds the underlay bridge.
    public var rootNamespace: String { "weft-\(name)" }
    /// The prefix every namespace of this lab but the root starts with (`down` removes these and the root).
    public var namespacePrefix: String { "weft-\(name)." }
    /// The underlay bridge, inside `rootNamespace`.
    public var bridge: String { "underlay" }
    /// The machine's end of its veth into the underlay (in the machine's own namespace; ≤ 15 bytes).
    public var hostLink: String { "wl\(index)h" }
    /// The bridge port of the machine's veth, inside `rootNamespace`.
    public var hostPort: String { "host" }

    // MARK: Addresses

    public var underlayIPv4: IPPrefix { IPPrefix("198.18.\(index).0/24")! }
    public var underlayIPv6: IPPrefix { IPPrefix("fd77:6566:74:\(String(index, radix: 16))::/64")! }

    /// The machine's addresses on the underlay: where the lab's API server listens.
    public var hostAddresses: (v4: IPAddress, v6: IPAddress) { address(1) }

    /// The `i`-th node, counted from 1.
    public func node(_ i: Int) -> LabHost {
        LabHost(
            name: "node-\(i)", namespace: namespacePrefix + "node-\(i)", addresses: address(9 + i))
    }

    public var nodes: [LabHost] { (1...nodeCount).map(node) }

    /// The external client host (outside the cluster, on the underlay).
    public var client: LabHost {
        LabHost(name: "client", namespace: namespacePrefix + "client", addresses: address(250))
    }

    private func address(_ host: Int) -> (v4: IPAddress, v6: IPAddress) {
        (underlayIPv4.address.advanced(by: host), underlayIPv6.address.advanced(by: host))
    }

    // MARK: Files

    /// Pid file, kubeconfig and logs of the running lab.
    public var stateDirectory: String { "/run/weft/lab/\(name)" }
    /// The API server's data (objects, PKI, tokens).
    public var dataDirectory: String { "/var/lib/weft/lab/\(name)" }
}

/// A host on the lab's underlay: a node or the external client.
public struct LabHost: Sendable, Equatable {
    /// The Node object's name (`node-1`), or `client`.
    public var name: String
    /// Its network namespace.
    public var namespace: String
    /// Its underlay addresses (on `eth0` inside `namespace`).
    public var addresses: (v4: IPAddress, v6: IPAddress)

    /// The interface inside the host's namespace.
    public static let underlayInterface = "eth0"

    public static func == (a: LabHost, b: LabHost) -> Bool {
        a.name == b.name && a.namespace == b.namespace
            && a.addresses.v4 == b.addresses.v4 && a.addresses.v6 == b.addresses.v6
    }
}

/// What is wrong with a lab request.
public enum LabError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidIndex(Int)
    case invalidNodeCount(Int)

    public var description: String {
        switch self {
        case .invalidName(let name):
            "invalid lab name \"\(name)\": use 1–12 lowercase letters, digits and inner hyphens"
        case .invalidIndex(let index): "invalid lab index \(index): 0 to \(LabTopology.maximumIndex)"
        case .invalidNodeCount(let count): "invalid node count \(count): 1 to \(LabTopology.maximumNodes)"
        }
    }
}

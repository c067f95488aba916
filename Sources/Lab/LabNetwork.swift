import Foundation
import Netlink
import WeftNet

/// Makes and removes a lab's network (`LabTopology`) in the kernel: the root namespace with the underlay bridge,
/// the machine's veth into it, and one namespace per node and for the client, each on the bridge through a
/// macvlan `eth0` with its underlay addresses. No namespace gets a default route, so nothing can leave the machine.
///
/// `delete` removes by name and prefix only — the lab's own namespaces (deleting a namespace destroys the links
/// in it, and the root's takes the machine's veth peer with it) and the machine's `wlINDEXh` link when it carries
/// the lab's alias — so it also
/// cleans up after a crash halfway through `create`, and never touches another lab's.
public enum LabNetwork {
    /// The alias on the machine's veth: which lab it belongs to.
    public static func hostLinkAlias(_ lab: LabTopology) -> String { "weft-lab:\(lab.name)" }

    /// Creates the whole network; on failure removes what it made and rethrows.
    public static func create(_ lab: LabTopology) throws {
        do {
            try createRoot(lab)
            let root = try NetNS.open(name: lab.rootNamespace)
            defer { root.close() }
            let inRoot = try RouteSocket(netns: root)
            guard let bridge = try inRoot.link(named: lab.bridge) else { throw LabNetworkError.missingLink(lab.bridge) }
            for host in lab.nodes + [lab.client] { try attach(host, bridge: bridge.index, inRoot) }
        } catch {
            try? delete(lab)
            throw error
        }
    }

    /// Removes everything of `lab` that exists. Missing pieces are not an error.
    public static func delete(_ lab: LabTopology) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: NetNS.namedDirectory)) ?? []
        for name in names where name.hasPrefix(lab.namespacePrefix) { try NetNS.delete(name: name) }
        try NetNS.delete(name: lab.rootNamespace)
        let socket = try RouteSocket()
        if let link = try socket.link(named: lab.hostLink), link.alias == hostLinkAlias(lab) {
            try socket.deleteLink(index: link.index)
        }
    }

    /// The index of the lab named `name` from its machine-side link's alias, when the link exists.
    public static func index(ofLabNamed name: String) throws -> Int? {
        let alias = "weft-lab:\(name)"
        return try RouteSocket().links().first {
            $0.alias == alias && $0.name.hasPrefix("wl") && $0.name.hasSuffix("h")
        }
        .flatMap { Int($0.name.dropFirst(2).dropLast()) }
    }

    /// Adds one host (a node added with `weft lab node add`) to a running lab's underlay.
    public static func add(_ host: LabHost, to lab: LabTopology) throws {
        let root = try NetNS.open(name: lab.rootNamespace)
        defer { root.close() }
        let inRoot = try RouteSocket(netns: root)
        guard let bridge = try inRoot.link(named: lab.bridge) else { throw LabNetworkError.missingLink(lab.bridge) }
        do {
            try attach(host, bridge: bridge.index, inRoot)
        } catch {
            try? NetNS.delete(name: host.namespace)
            throw error
        }
    }

    /// The indexes of the labs whose machine-side link exists (`wlINDEXh` with a lab alias).
    public static func indexesInUse() throws -> Set<Int> {
        let links = try RouteSocket().links()
        return Set(
            links.compactMap { link in
                guard link.alias?.hasPrefix("weft-lab:") == true, link.name.hasPrefix("wl"), link.name.hasSuffix("h")
                else { return nil }
                return Int(link.name.dropFirst(2).dropLast())
            })
    }

    private static func createRoot(_ lab: LabTopology) throws {
        let root = try NetNS.create(name: lab.rootNamespace)
        defer { root.close() }
        try withoutDAD(root)
        let inRoot = try RouteSocket(netns: root)
        try up("lo", inRoot)
        try inRoot.addBridge(name: lab.bridge)
        let bridge = try up(lab.bridge, inRoot)

        let host = try RouteSocket()
        try host.addVeth(name: lab.hostLink, peerName: lab.hostPort, peerNetNS: root)
        let port = try up(lab.hostPort, inRoot)
        try inRoot.setMaster(index: port, master: bridge)
        guard let hostLink = try host.link(named: lab.hostLink) else { throw LabNetworkError.missingLink(lab.hostLink) }
        try host.setAlias(index: hostLink.index, alias: hostLinkAlias(lab))
        try host.addAddress(index: hostLink.index, prefix: IPPrefix(address: lab.hostAddresses.v4, length: 24))
        try host.addAddress(
            index: hostLink.index, prefix: IPPrefix(address: lab.hostAddresses.v6, length: 64), noDAD: true)
        try host.setUp(index: hostLink.index)
    }

    /// A node or the client: its namespace, its `eth0` (a macvlan in bridge mode on the underlay bridge; `inRoot`
    /// is a socket in the root namespace), its addresses. Macvlans of one parent pass frames to each other
    /// directly, so node-to-node traffic crosses one namespace boundary where a veth into the bridge costs two
    /// (a quarter of the cross-node pod throughput on this machine, bench/README.md); the machine's own veth is
    /// a bridge port, which macvlans reach through their parent.
    private static func attach(_ host: LabHost, bridge: Int32, _ inRoot: RouteSocket) throws {
        let namespace = try NetNS.create(name: host.namespace)
        defer { namespace.close() }
        try withoutDAD(namespace)
        try inRoot.addMacvlanBridge(name: LabHost.underlayInterface, parentIndex: bridge, netns: namespace)

        let inside = try RouteSocket(netns: namespace)
        try up("lo", inside)
        let eth0 = try up(LabHost.underlayInterface, inside)
        try inside.addAddress(index: eth0, prefix: IPPrefix(address: host.addresses.v4, length: 24))
        try inside.addAddress(index: eth0, prefix: IPPrefix(address: host.addresses.v6, length: 64), noDAD: true)
    }

    /// No duplicate address detection for the links made in `namespace` from now on: every lab address is unique
    /// by construction, and a tentative link-local address keeps a node from resolving neighbours for the packets
    /// it forwards (pods' first cross-node IPv6 packets would be lost for a second or more).
    private static func withoutDAD(_ namespace: NetNS) throws {
        try namespace.run {
            try Sysctl.write("net/ipv6/conf/default/accept_dad", "0")
            try Sysctl.write("net/ipv6/conf/all/accept_dad", "0")
        }
    }

    /// Sets a link up; returns its index.
    @discardableResult
    private static func up(_ name: String, _ socket: RouteSocket) throws -> Int32 {
        guard let link = try socket.link(named: name) else { throw LabNetworkError.missingLink(name) }
        try socket.setUp(index: link.index)
        return link.index
    }
}

/// A step of building the lab's network that found the kernel in an unexpected state.
public enum LabNetworkError: Error, Equatable, CustomStringConvertible {
    case missingLink(String)

    public var description: String {
        switch self {
        case .missingLink(let name): "link \(name) is missing right after it was created"
        }
    }
}

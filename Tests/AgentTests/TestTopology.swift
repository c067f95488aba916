import Agent
import Foundation
import Netlink
import WeftNet

/// A small cluster's network made of namespaces, removed by ``destroy()`` whatever happened: an underlay
/// namespace holding a bridge, and per node a namespace attached to it by a veth (`eth0`, underlay
/// 192.168.77.N/24 and fd00:77::N/64) with a link `wfag-pod` holding the node's "pod" addresses 10.77.N.1 and
/// fd00:10:77:N::1 inside its pod CIDRs 10.77.N.0/24 and fd00:10:77:N::/64. Nothing is connected to the machine's
/// own network. Namespaces are named `wfag-PID-TAG-…` (`NetNS.ownedName`), so a later run removes those of a run that
/// was killed before its cleanup.
final class TestTopology: @unchecked Sendable {
    /// One node namespace.
    struct NodeNamespace: @unchecked Sendable, CustomStringConvertible {
        var name: String
        var netnsName: String
        var ns: NetNS
        var socket: RouteSocket
        var underlay4: IPAddress
        var underlay6: IPAddress
        var pod4: IPAddress
        var pod6: IPAddress
        var network: NodeNetwork

        var description: String { name }

        func pod(_ family: IPFamily) -> IPAddress { family == .v4 ? pod4 : pod6 }

        func reconciler(_ mode: OverlayMode) -> OverlayReconciler {
            OverlayReconciler(
                nodeName: name, configuration: OverlayConfiguration(mode: mode),
                kernel: NetlinkOverlayKernel(socket: socket))
        }
    }

    static let prefix = "wfag"
    let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
    private(set) var nodes: [NodeNamespace] = []
    private var namespaces: [String] = []
    private var handles: [NetNS] = []
    private var sockets: [RouteSocket] = []

    init(nodes count: Int) throws {
        // What a killed test run left (its defer never ran): namespaces whose maker is gone.
        NetNS.removeAbandoned(prefix: Self.prefix)
        do {
            try build(count)
        } catch {
            destroy()
            throw error
        }
    }

    /// The Node view of every node, for the planner.
    var networks: [NodeNetwork] { nodes.map(\.network) }

    private func makeNamespace(_ suffix: String) throws -> (String, NetNS, RouteSocket) {
        let name = NetNS.ownedName(prefix: Self.prefix, "\(tag)-\(suffix)")
        let ns = try NetNS.create(name: name)
        namespaces.append(name)
        handles.append(ns)
        let socket = try RouteSocket(netns: ns)
        sockets.append(socket)
        try socket.setUp(index: try Self.require(socket, "lo").index)
        return (name, ns, socket)
    }

    private func build(_ count: Int) throws {
        let (_, _, underlay) = try makeNamespace("ul")
        try underlay.addBridge(name: "wfag-br")
        let bridge = try Self.require(underlay, "wfag-br")
        try underlay.setUp(index: bridge.index)
        for n in 1...count {
            let (netnsName, ns, socket) = try makeNamespace("n\(n)")
            try underlay.addVeth(name: "wfag-p\(n)", peerName: "eth0", peerNetNS: ns)
            let port = try Self.require(underlay, "wfag-p\(n)")
            try underlay.setMaster(index: port.index, master: bridge.index)
            try underlay.setUp(index: port.index)
            let eth0 = try Self.require(socket, "eth0")
            let underlay4 = IPAddress("192.168.77.\(n)")!
            let underlay6 = IPAddress("fd00:77::\(n)")!
            try socket.addAddress(index: eth0.index, prefix: IPPrefix(address: underlay4, length: 24))
            try socket.addAddress(index: eth0.index, prefix: IPPrefix(address: underlay6, length: 64), noDAD: true)
            try socket.setUp(index: eth0.index)
            // Pod addresses on one end of a veth pair whose both ends stay in the node (the kernel may lack the
            // dummy driver; a portless bridge has no carrier).
            try socket.addVeth(name: "wfag-pod", peerName: "wfag-podp")
            try socket.setUp(index: try Self.require(socket, "wfag-podp").index)
            let pod = try Self.require(socket, "wfag-pod")
            let pod4 = IPAddress("10.77.\(n).1")!
            let pod6 = IPAddress("fd00:10:77:\(n)::1")!
            try socket.addAddress(index: pod.index, prefix: IPPrefix(address: pod4, length: 24))
            try socket.addAddress(index: pod.index, prefix: IPPrefix(address: pod6, length: 64), noDAD: true)
            try socket.setUp(index: pod.index)
            let name = "node-\(n)"
            nodes.append(
                NodeNamespace(
                    name: name, netnsName: netnsName, ns: ns, socket: socket, underlay4: underlay4,
                    underlay6: underlay6, pod4: pod4, pod6: pod6,
                    network: NodeNetwork(
                        name: name,
                        podCIDRs: [.v4: IPPrefix("10.77.\(n).0/24")!, .v6: IPPrefix("fd00:10:77:\(n)::/64")!],
                        internalIPs: [.v4: underlay4, .v6: underlay6])))
        }
    }

    /// Removes every namespace (and with them every link, address and route of the test).
    func destroy() {
        nodes.removeAll()
        for socket in sockets { socket.close() }
        sockets.removeAll()
        for ns in handles { ns.close() }
        handles.removeAll()
        for name in namespaces { try? NetNS.delete(name: name) }
        namespaces.removeAll()
    }

    private static func require(_ socket: RouteSocket, _ name: String) throws -> Link {
        guard let link = try socket.link(named: name) else { throw ShellError(description: "link \(name) missing") }
        return link
    }
}

/// Runs `body` with a fresh topology of `count` nodes and destroys it afterwards, also when `body` throws.
func withTopology(nodes count: Int, _ body: (TestTopology) throws -> Void) throws {
    let topology = try TestTopology(nodes: count)
    defer { topology.destroy() }
    try body(topology)
}

struct ShellError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a command (`ip`, `bridge`, `ping`) and returns its exit status and output.
@discardableResult
func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs a command that must succeed.
func shell(_ arguments: [String]) throws {
    let result = try run(arguments)
    guard result.status == 0 else {
        throw ShellError(description: "\(arguments.joined(separator: " ")): exit \(result.status): \(result.output)")
    }
}

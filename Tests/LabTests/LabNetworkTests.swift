import Foundation
import Lab
import Netlink
import Testing

/// The lab's network in the kernel (root): hosts reach each other and the machine over the underlay, nothing has
/// a default route, and `delete` removes exactly one lab's pieces, also after a half-finished create.
extension LabKernelTests {
    @Suite(.serialized, .enabled(if: getuid() == 0))
    struct LabNetworkTests {
        static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }

        static func ping(from namespace: String?, _ address: String) throws -> Bool {
            let inNamespace = namespace.map { ["ip", "netns", "exec", $0] } ?? []
            return try run(inNamespace + ["ping", "-c", "1", "-W", "2", address]).status == 0
        }

        static func namespaces() -> [String] {
            (try? FileManager.default.contentsOfDirectory(atPath: NetNS.namedDirectory)) ?? []
        }

        static func uniqueName() -> String {
            "t" + String((0..<6).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
        }

        @Test func hostsReachEachOtherAndDeleteLeavesNothing() throws {
            let index = try #require(LabTopology.freeIndex(taken: try LabNetwork.indexesInUse()))
            let lab = try LabTopology(name: Self.uniqueName(), index: index, nodeCount: 2)
            // A second lab whose name starts with the first one's: deleting the first must not touch it.
            let other = try LabTopology(
                name: lab.name + "-b", index: try #require(LabTopology.freeIndex(taken: [index])), nodeCount: 1)
            defer {
                try? LabNetwork.delete(lab)
                try? LabNetwork.delete(other)
            }
            try LabNetwork.create(lab)
            try LabNetwork.create(other)
            #expect(try LabNetwork.indexesInUse().isSuperset(of: [lab.index, other.index]))

            let (node1, node2) = (lab.node(1), lab.node(2))
            #expect(try Self.ping(from: node1.namespace, node2.addresses.v4.description))
            #expect(try Self.ping(from: node1.namespace, node2.addresses.v6.description))
            #expect(try Self.ping(from: node2.namespace, lab.hostAddresses.v4.description), "node → the machine")
            #expect(try Self.ping(from: lab.client.namespace, node1.addresses.v6.description))
            #expect(try Self.ping(from: nil, node1.addresses.v4.description), "the machine → node")
            for host in lab.nodes + [lab.client] {
                for family in ["-4", "-6"] {
                    let routes = try Self.run(["ip", family, "-n", host.namespace, "route", "show", "default"])
                    #expect(routes.status == 0 && routes.output.isEmpty, "\(host.namespace) has a default route")
                }
            }

            try LabNetwork.delete(lab)
            let left = Self.namespaces().filter { $0 == lab.rootNamespace || $0.hasPrefix(lab.namespacePrefix) }
            #expect(left.isEmpty, "left: \(left)")
            #expect(try RouteSocket().link(named: lab.hostLink) == nil)
            #expect(!(try LabNetwork.indexesInUse().contains(lab.index)))
            // The other lab is intact.
            #expect(Self.namespaces().contains(other.node(1).namespace))
            #expect(try Self.ping(from: other.node(1).namespace, other.hostAddresses.v4.description))
            try LabNetwork.delete(lab)  // again: nothing left to do, no error
        }

        @Test func deleteCleansUpAHalfFinishedCreate() throws {
            let index = try #require(LabTopology.freeIndex(taken: try LabNetwork.indexesInUse()))
            let lab = try LabTopology(name: Self.uniqueName(), index: index, nodeCount: 3)
            defer { try? LabNetwork.delete(lab) }
            // As if `up` was killed after the root and one node existed.
            try NetNS.create(name: lab.rootNamespace).close()
            try NetNS.create(name: lab.node(1).namespace).close()
            try LabNetwork.delete(lab)
            #expect(Self.namespaces().filter { $0 == lab.rootNamespace || $0.hasPrefix(lab.namespacePrefix) }.isEmpty)

            // A create that fails halfway (a node's namespace is taken) removes what it made.
            try NetNS.create(name: lab.node(2).namespace).close()
            #expect(throws: (any Error).self) { try LabNetwork.create(lab) }
            #expect(Self.namespaces().filter { $0 == lab.rootNamespace || $0.hasPrefix(lab.namespacePrefix) }.isEmpty)
            #expect(try RouteSocket().link(named: lab.hostLink) == nil)
        }
    }
}

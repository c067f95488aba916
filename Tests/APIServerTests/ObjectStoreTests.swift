import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

/// The store's write path directly: group commit keeps each write atomic and isolated, resourceVersions dense and
/// in order, and everything durable across a reopen.
@Suite struct ObjectStoreTests {
    struct Refused: Error {}

    static func configMap(_ name: String) -> JSONValue {
        .object([
            "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
            "metadata": .object(["name": .string(name), "namespace": .string("default")]),
        ])
    }

    @Test func concurrentWritesCommitTogetherWithoutMixingFailures() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory + "/state.db"
        let store = try ObjectStore(path: path)
        let start = await store.resourceVersion
        let subscription = try await store.watch(Resources.configMap, namespace: nil, from: start)

        // 120 writers at once; every third writes two objects and then fails: none of its writes may survive.
        let outcomes = await withTaskGroup(of: (Int, Int64?).self) { group in
            for i in 0..<120 {
                group.addTask {
                    let rv = try? await store.transaction { tx in
                        try tx.put(
                            Resources.configMap, namespace: "default", name: "a\(i)", object: Self.configMap("a\(i)"),
                            old: nil)
                        if i % 3 == 0 {
                            try tx.put(
                                Resources.configMap, namespace: "default", name: "b\(i)",
                                object: Self.configMap("b\(i)"), old: nil)
                            throw Refused()
                        }
                        // Sees its own write inside the batch.
                        guard try tx.get(Resources.configMap, namespace: "default", name: "a\(i)") != nil else {
                            throw Refused()
                        }
                        return tx.resourceVersion
                    }
                    return (i, rv)
                }
            }
            var all: [Int: Int64?] = [:]
            for await (i, rv) in group { all[i] = rv }
            return all
        }
        let succeeded = outcomes.filter { $0.value != nil }.keys.sorted()
        #expect(succeeded == (0..<120).filter { $0 % 3 != 0 })
        // Dense resourceVersions: one per successful write, none spent on the failed ones.
        let versions = outcomes.values.compactMap { $0 }.sorted()
        #expect(versions == (1...Int64(80)).map { start + $0 })
        #expect(await store.resourceVersion == start + 80)

        var seen: [Int64] = []
        for await event in subscription.stream {
            seen.append(event.resourceVersion)
            #expect(event.object.metadataName?.hasPrefix("a") == true)
            if seen.count == 80 { break }
        }
        #expect(seen == versions)

        // Durable: a reopened store has exactly the successful objects and the same resourceVersion.
        let reopened = try ObjectStore(path: path)
        let (items, rv) = try await reopened.list(Resources.configMap, namespace: "default")
        #expect(rv == start + 80)
        #expect(Set(items.compactMap(\.metadataName)) == Set(succeeded.map { "a\($0)" }))
    }
}

extension JSONValue {
    fileprivate var metadataName: String? { self["metadata"]?["name"]?.stringValue }
}

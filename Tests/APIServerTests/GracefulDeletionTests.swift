import APIServer
import Foundation
import Testing
import WeftNet

/// Graceful pod deletion (`APIServerConfiguration.gracefulPodDeletion`): a pod bound to a node is only marked, for
/// its kubelet to stop it and then delete it with a zero grace period.
@Suite struct GracefulDeletionTests {
    static let pods = "/api/v1/namespaces/default/pods"

    static func pod(_ name: String, node: String?, grace: Int? = nil) -> String {
        let nodeName = node.map { #","nodeName":"\#($0)""# } ?? ""
        let period = grace.map { #","terminationGracePeriodSeconds":\#($0)"# } ?? ""
        return
            #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\#(name)"},"spec":{"containers":[{"name":"c","image":"x"}]\#(nodeName)\#(period)}}"#
    }

    @Test func boundPodsAreMarkedThenDeletedAtZero() async throws {
        try await withServer(configure: {
            $0.gracefulPodDeletion = true; $0.controllers = false
        }) { (_, client) async throws in
            #expect(
                try await client.request(.POST, Self.pods, json: Self.pod("a", node: "n1", grace: 20)).status == 201)
            let marked = try await client.request(.DELETE, Self.pods + "/a")
            #expect(marked.status == 200)
            #expect(marked.json.string("metadata.deletionTimestamp") != nil)
            #expect(marked.json.number("metadata.deletionGracePeriodSeconds") == 20)
            #expect(try await client.request(.GET, Self.pods + "/a").status == 200)

            // A longer period does not extend it; a shorter one shortens it; zero deletes.
            let again = try await client.request(.DELETE, Self.pods + "/a", json: #"{"gracePeriodSeconds":60}"#)
            #expect(again.json.number("metadata.deletionGracePeriodSeconds") == 20)
            let shorter = try await client.request(.DELETE, Self.pods + "/a?gracePeriodSeconds=5")
            #expect(shorter.json.number("metadata.deletionGracePeriodSeconds") == 5)
            #expect(
                try await client.request(.DELETE, Self.pods + "/a", json: #"{"gracePeriodSeconds":0}"#).status == 200)
            #expect(try await client.request(.GET, Self.pods + "/a").status == 404)
        }
    }

    @Test func unboundFinishedOrDisabledDeleteAtOnce() async throws {
        try await withServer(configure: {
            $0.gracefulPodDeletion = true; $0.controllers = false
        }) { (_, client) async throws in
            #expect(try await client.request(.POST, Self.pods, json: Self.pod("unbound", node: nil)).status == 201)
            #expect(try await client.request(.DELETE, Self.pods + "/unbound").status == 200)
            #expect(try await client.request(.GET, Self.pods + "/unbound").status == 404)

            #expect(try await client.request(.POST, Self.pods, json: Self.pod("done", node: "n1")).status == 201)
            let status = #"{"status":{"phase":"Succeeded"}}"#
            let patched = try await client.request(
                .PATCH, Self.pods + "/done/status", json: status, contentType: "application/merge-patch+json")
            #expect(patched.status == 200)
            #expect(try await client.request(.DELETE, Self.pods + "/done").status == 200)
            #expect(try await client.request(.GET, Self.pods + "/done").status == 404)
        }
        try await withServer(configure: { $0.controllers = false }) { (_, client) async throws in
            #expect(try await client.request(.POST, Self.pods, json: Self.pod("bound", node: "n1")).status == 201)
            #expect(try await client.request(.DELETE, Self.pods + "/bound").status == 200)
            #expect(try await client.request(.GET, Self.pods + "/bound").status == 404)
        }
    }
}

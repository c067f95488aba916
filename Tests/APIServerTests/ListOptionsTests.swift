import APIServer
import Foundation
import Testing
import WeftNet

/// Lists in pages (`limit`/`continue`) and lists at a resourceVersion (`resourceVersionMatch`), as the Kubernetes
/// API concepts page describes them.
@Suite struct ListOptionsTests {
    static let cms = "/api/v1/namespaces/default/configmaps"

    @Test func pagesCoverEveryObjectOnceAtOneResourceVersion() async throws {
        try await withServer(configure: { $0.controllers = false }) { _, client in
            // Names chosen so that namespace/name as one string would sort differently from (namespace, name).
            for namespace in ["a", "a-x"] {
                _ = try await client.request(
                    .POST, "/api/v1/namespaces", json: #"{"metadata": {"name": "\#(namespace)"}}"#)
                for i in 0..<5 {
                    _ = try await client.request(
                        .POST, "/api/v1/namespaces/\(namespace)/configmaps",
                        json: #"{"metadata": {"name": "cm\#(i)"}}"#)
                }
            }
            let all = try await client.request(.GET, "/api/v1/configmaps").json
            let expected = (all["items"]?.arrayValue ?? []).map {
                ($0.string("metadata.namespace") ?? "") + "/" + ($0.string("metadata.name") ?? "")
            }
            #expect(expected.count == 10)

            var seen: [String] = []
            var pages = 0
            var token: String?
            var firstRV: String?
            repeat {
                var path = "/api/v1/configmaps?limit=3"
                if let token {
                    path += "&continue=" + token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                }
                let page = try await client.request(.GET, path).json
                pages += 1
                let items = page["items"]?.arrayValue ?? []
                #expect(items.count <= 3)
                seen += items.map { ($0.string("metadata.namespace") ?? "") + "/" + ($0.string("metadata.name") ?? "") }
                firstRV = firstRV ?? page.string("metadata.resourceVersion")
                #expect(page.string("metadata.resourceVersion") == firstRV, "every page reports the first page's RV")
                token = page.string("metadata.continue")
                if pages == 1 {
                    #expect(page.number("metadata.remainingItemCount") == 7)
                    // A write between pages does not disturb the paging; an object created after the last key
                    // served shows up on a later page (see ListOptions: pages after the first show current state).
                    _ = try await client.request(.POST, Self.cms, json: #"{"metadata": {"name": "z"}}"#)
                }
            } while token != nil && pages < 10
            #expect(pages == 4)
            #expect(seen == expected + ["default/z"])

            let bad = try await client.request(.GET, "/api/v1/configmaps?limit=2&continue=not-a-token")
            #expect(bad.status == 400)
            #expect(bad.json.string("message")?.hasPrefix("continue key is not valid") == true)
            let negative = try await client.request(.GET, "/api/v1/configmaps?limit=-1")
            #expect(negative.status == 400)

            // Tables page the same way (kubectl get uses limit=500 and follows continue).
            _ = try await client.request(.POST, Self.cms, json: #"{"metadata": {"name": "zz"}}"#)
            _ = try await client.request(.POST, Self.cms, json: #"{"metadata": {"name": "zzz"}}"#)
            let table = try await client.request(
                .GET, Self.cms + "?limit=2", headers: [("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")])
            #expect(table.json["rows"]?.arrayValue?.count == 2)
            #expect(table.json.string("metadata.continue") != nil)
        }
    }

    @Test func resourceVersionMatch() async throws {
        try await withServer(configure: { $0.controllers = false }) { _, client in
            let created = try await client.request(.POST, Self.cms, json: #"{"metadata": {"name": "a"}}"#).json
            let rv = try #require(created.string("metadata.resourceVersion").flatMap { Int64($0) })

            let exact = try await client.request(.GET, Self.cms + "?resourceVersion=\(rv)&resourceVersionMatch=Exact")
            #expect(exact.status == 200 && exact.json.itemNames == ["a"])
            _ = try await client.request(.POST, Self.cms, json: #"{"metadata": {"name": "b"}}"#)
            let old = try await client.request(.GET, Self.cms + "?resourceVersion=\(rv)&resourceVersionMatch=Exact")
            #expect(old.status == 410 && old.json.string("reason") == "Expired")
            let notOlder = try await client.request(
                .GET, Self.cms + "?resourceVersion=\(rv)&resourceVersionMatch=NotOlderThan")
            #expect(notOlder.status == 200 && notOlder.json.itemNames == ["a", "b"])

            // A version not reached yet: waited for, then 504 (kube-apiserver waits 3 s too).
            let future = try await client.request(.GET, Self.cms + "?resourceVersion=\(rv + 1000)")
            #expect(future.status == 504 && future.json.string("reason") == "Timeout")
            // One that arrives while the list waits is served.
            async let waiting = client.request(
                .GET, Self.cms + "?resourceVersion=\(rv + 2)&resourceVersionMatch=NotOlderThan")
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.request(.POST, Self.cms, json: #"{"metadata": {"name": "c"}}"#)
            let served = try await waiting
            #expect(served.status == 200 && served.json.itemNames == ["a", "b", "c"])

            let forbidden = try await client.request(.GET, Self.cms + "?resourceVersionMatch=Exact")
            #expect(forbidden.status == 400)
            #expect(
                forbidden.json.string("message")
                    == "resourceVersionMatch is forbidden unless resourceVersion is provided")
            let unsupported = try await client.request(
                .GET, Self.cms + "?resourceVersion=1&resourceVersionMatch=Newest")
            #expect(unsupported.status == 400)
        }
    }
}

import Foundation
import Lab
import Testing

/// `weft lab up -f`: files and directories read, checked and ordered before anything is made.
struct LabManifestsTests {
    static func directory(_ files: [String: String]) throws -> String {
        let path = NSTemporaryDirectory() + "weft-manifests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8) }
        return path
    }

    @Test func directoriesAreReadByNameAndKindsResolved() throws {
        let dir = try Self.directory([
            "b.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
            "a.yml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: shop}
            spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: []}}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec: {containers: []}
            """,
            "notes.txt": "not a manifest",
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifests = try LabManifests.load([dir])
        #expect(manifests.items.map(\.display) == ["deployment/web in shop", "pod/p in default", "namespace/shop"])
    }

    @Test func errorsNameTheFileAndTheProblem() throws {
        let dir = try Self.directory([
            "broken.yaml": "kind: Pod\nmetadata: {name: [\n",
            "widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
            "anonymous.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {}\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (file, words) in [
            ("broken.yaml", "broken.yaml"), ("widget.yaml", "unknown kind \"Widget\""),
            ("anonymous.yaml", "without metadata.name"), ("missing.yaml", "no such file"),
        ] {
            #expect {
                try LabManifests.load([dir + "/" + file])
            } throws: { error in
                "\(error)".contains(words)
            }
        }
    }

    /// The cluster DNS `up` applies: kube-dns on the lab's DNS addresses, `weft dns` answering its probe on every
    /// family, forwarding only when asked.
    @Test func clusterDNSForEachFamily() throws {
        for (family, addresses) in [
            (LabIPFamily.ipv4, ["10.96.0.10"]), (.ipv6, ["fd00:10:96::a"]), (.dual, ["10.96.0.10", "fd00:10:96::a"]),
        ] {
            let spec = LabSpec(name: "t", index: 1, nodes: [1], overlay: .vxlan, ipFamily: family)
            let items = try LabDNS.manifests(spec: spec, upstreams: family == .dual ? ["192.0.2.53"] : []).items
            #expect(items.map(\.display) == ["service/kube-dns in kube-system", "deployment/weft-dns in kube-system"])
            let service = items[0].object
            #expect(service["spec"]?["clusterIPs"]?.arrayValue?.compactMap(\.stringValue) == addresses)
            let command =
                items[1].object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["command"]?.arrayValue?
                .compactMap(\.stringValue) ?? []
            #expect(command.contains("[::]:8080"), "the readiness probe may come over IPv6: \(command)")
            #expect(
                family == .dual ? command.suffix(2) == ["--upstream", "192.0.2.53"] : command.last == "--no-forward")
        }
    }
}

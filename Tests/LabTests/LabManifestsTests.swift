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
}

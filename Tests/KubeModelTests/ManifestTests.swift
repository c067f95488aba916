import KubeModel
import Testing
import WeftNet

@Suite struct ManifestTests {
    @Test func multiDocumentYAML() throws {
        let objects = try Manifest.decodeDocuments(
            """
            # a comment before the first document
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop}
            ---
            # an empty document is skipped
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              namespace: shop
              annotations:
                port-as-string: "80"
                bool-as-string: 'true'
            spec:
              ports:
              - port: 80
                targetPort: 8080
              publishNotReadyAddresses: yes
            ...
            """)
        #expect(objects.count == 2)
        #expect(try Manifest.decode(objects[0], as: Namespace.self).name == "shop")
        let svc = try Manifest.decode(objects[1], as: Service.self)
        #expect(svc.metadata.annotations == ["port-as-string": "80", "bool-as-string": "true"])
        #expect(svc.spec?.ports?[0].port == 80 && svc.spec?.ports?[0].targetPort == 8080)
        #expect(svc.spec?.publishNotReadyAddresses == true)
    }

    @Test func scalarsFollowYAMLTypes() throws {
        let object = try #require(
            try Manifest.decodeDocuments(
                """
                apiVersion: v1
                kind: ConfigMap
                data:
                  int: 42
                  hex: 0x1F
                  float: 1.5
                  exp: 1e3
                  nul: ~
                  empty:
                  multi: |
                    line one
                    line two
                  str: "42"
                  time: 2024-05-01T10:00:00Z
                  version: 1.10.0
                """
            ).first)
        let data = try #require(object["data"]?.objectValue)
        #expect(data["int"] == .number(42) && data["hex"] == .number(31) && data["float"] == .number(1.5))
        #expect(data["exp"] == .number(1000) && data["nul"] == .null && data["empty"] == .null)
        #expect(data["str"] == .string("42") && data["time"] == .string("2024-05-01T10:00:00Z"))
        #expect(data["version"] == .string("1.10.0") && data["multi"] == .string("line one\nline two\n"))
    }

    @Test func anchorsAndMergeKeys() throws {
        let objects = try Manifest.decodeDocuments(
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              labels: &labels {app: web, tier: front}
              annotations:
                <<: *labels
                tier: override
            """)
        #expect(objects[0]["metadata"]?["labels"] == .object(["app": .string("web"), "tier": .string("front")]))
        #expect(
            objects[0]["metadata"]?["annotations"] == .object(["app": .string("web"), "tier": .string("override")]))
    }

    @Test func listsExpandToTheirItems() throws {
        let yaml = """
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
            - {apiVersion: apps/v1, kind: Deployment, metadata: {name: b}}
            """
        #expect(try Manifest.decodeDocuments(yaml).map { $0["kind"] } == [.string("ConfigMap"), .string("Deployment")])

        let podList = """
            {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "10"},
             "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}, "kind": "Pod", "apiVersion": "v1"}]}
            """
        let pods = try Manifest.decodeDocuments(podList).map { try Manifest.decode($0, as: Pod.self) }
        #expect(pods.map(\.name) == ["a", "b"])
        #expect(pods.allSatisfy { $0.kind == "Pod" && $0.apiVersion == "v1" })
    }

    @Test func singleJSONObject() throws {
        let objects = try Manifest.decodeDocuments(
            #"  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}"#)
        #expect(try Manifest.decode(objects[0], as: Secret.self).value(forKey: "k") == Array("v".utf8))
    }

    @Test(arguments: [
        (
            "apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  bad: [1, 2\n",
            ManifestError(
                document: 2, line: 9, column: 1,
                problem:
                    "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 8, column 8)"
            )
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   x: y\n",
            ManifestError(
                document: 1, line: 5, column: 5, problem: "invalid YAML: mapping values are not allowed in this context"
            )
        ),
        (
            "apiVersion: v1\nkind: Pod\nkind: Service\n",
            ManifestError(document: 1, line: 3, column: 1, problem: "duplicate key \"kind\"")
        ),
        (
            "apiVersion: v1\nkind: Pod\n---\n- a\n- b\n",
            ManifestError(document: 2, problem: "expected an object, found a list")
        ),
        (
            "apiVersion: v1\nkind: Pod\n---\nmetadata: {name: x}\n",
            ManifestError(document: 2, problem: "the object has no kind (Object 'Kind' is missing)")
        ),
        ("kind: Pod\n", ManifestError(document: 1, problem: "the Pod has no apiVersion")),
        (
            "apiVersion: v1\nkind: Pod\nspec: {x: .inf}\n",
            ManifestError(document: 1, line: 3, column: 11, problem: ".inf is not a number JSON can hold")
        ),
        (
            "apiVersion: v1\nkind: List\nitems: [{kind: Pod}]\n",
            ManifestError(document: 1, problem: "items[0]: the Pod has no apiVersion")
        ),
        ("just a string\n", ManifestError(document: 1, problem: "expected an object, found a string")),
        ("[1, 2]", ManifestError(document: 1, problem: "expected an object, found a list")),
    ])
    func badInputNamesDocumentAndProblem(text: String, expected: ManifestError) {
        #expect(throws: expected) { try Manifest.decodeDocuments(text) }
    }

    @Test func badJSON() {
        do {
            _ = try Manifest.decodeDocuments(#"{"apiVersion": "v1" "kind": "Pod"}"#)
            Issue.record("parsed bad JSON")
        } catch {
            #expect(error.document == 1)
            #expect(error.problem.hasPrefix("invalid JSON: "), "\(error)")
            #expect(error.description.hasPrefix("document 1: invalid JSON: "))
        }
    }

    @Test func errorDescriptions() {
        #expect(
            ManifestError(document: 2, line: 7, column: 5, problem: "x").description
                == "document 2 (line 7, column 5): x")
        #expect(ManifestError(document: 3, problem: "y").description == "document 3: y")
        #expect(ManifestError(problem: "z").description == "z")
    }

    @Test func yamlTextReadsBackUnchanged() throws {
        let objects: [JSONValue] = [
            .object([
                "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
                "data": .object([
                    "port": .string("80"), "flag": .string("true"), "yes": .string("yes"), "null": .string("null"),
                    "empty": .string(""), "multi": .string("a\nb\n"),
                    "colon": .string("a: b"), "hash": .string("# not a comment"),
                ]),
                "n": .number(3), "f": .number(2.5), "b": .bool(false), "z": .null,
                "list": .array([.number(1), .string("two"), .object([:]), .array([])]),
            ]),
            .object([
                "apiVersion": .string("v1"), "kind": .string("Namespace"), "metadata": .object(["name": .string("x")]),
            ]),
        ]
        let text = try Manifest.yamlText(objects)
        #expect(text.contains("---\n"), "\(text)")
        #expect(try Manifest.decodeDocuments(text) == objects, "\(text)")
    }
}

@Suite struct IntOrStringTests {
    @Test func codesAsNumberOrString() throws {
        #expect(try JSONValue(json: "8080").decoded(as: IntOrString.self) == .int(8080))
        #expect(try JSONValue(json: #""http""#).decoded(as: IntOrString.self) == .string("http"))
        #expect(try JSONValue(json: #""80""#).decoded(as: IntOrString.self) == .string("80"))
        #expect(try JSONValue(encoding: IntOrString.int(53)) == .number(53))
        #expect(try JSONValue(encoding: IntOrString.string("dns")) == .string("dns"))
        #expect(throws: DecodingError.self) { try JSONValue(json: "1.5").decoded(as: IntOrString.self) }
        #expect(throws: DecodingError.self) { try JSONValue(json: "true").decoded(as: IntOrString.self) }
        let port: IntOrString = 80
        let name: IntOrString = "http"
        #expect(port.intValue == 80 && port.stringValue == nil && port.description == "80")
        #expect(name.stringValue == "http" && name.intValue == nil && name.description == "http")
    }

    @Test func portProtocolIsOpen() throws {
        #expect(try JSONValue(json: #""SCTP""#).decoded(as: PortProtocol.self) == .sctp)
        let other = try JSONValue(json: #""QUIC""#).decoded(as: PortProtocol.self)
        #expect(other.rawValue == "QUIC")
        #expect(try JSONValue(encoding: other) == .string("QUIC"))
    }
}

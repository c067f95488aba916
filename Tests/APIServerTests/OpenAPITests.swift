import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

@Suite("OpenAPI")
struct OpenAPITests {
    static func indexKey(_ resource: ResourceInfo) -> String {
        resource.group.isEmpty ? "api/\(resource.version)" : "apis/\(resource.group)/\(resource.version)"
    }

    /// The `x-kubernetes-group-version-kind` entries of a schema (an array of objects).
    static func kinds(_ schema: JSONValue) -> [String] {
        (schema["x-kubernetes-group-version-kind"]?.arrayValue ?? []).compactMap { entry in
            guard let group = entry.string("group"), let version = entry.string("version"),
                let kind = entry.string("kind")
            else { return nil }
            return "\(group)/\(version)/\(kind)"
        }
    }

    @Test func v3IndexListsEveryGroupVersion() async throws {
        try await withServer { _, client in
            let response = try await client.request(.GET, "/openapi/v3")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"].first == "application/json")
            let paths = try #require(response.json["paths"]?.objectValue)
            let expected = Set(Resources.all.map(Self.indexKey))
            #expect(Set(paths.keys) == expected)
            #expect(paths.keys.contains("api/v1") && paths.keys.contains("apis/apps/v1"))
            for (key, entry) in paths {
                let url = try #require(entry.string("serverRelativeURL"))
                #expect(url.hasPrefix("/openapi/v3/\(key)?hash="))
                #expect(url.count > "/openapi/v3/\(key)?hash=".count + 32)
                // The URL the index gives serves the document.
                let document = try await client.request(.GET, url)
                #expect(document.status == 200, "\(url): \(document.text)")
                #expect(document.json.string("openapi")?.hasPrefix("3.") == true)
            }
            // The hash is stable between requests.
            #expect(try await client.request(.GET, "/openapi/v3").body == response.body)
        }
    }

    @Test func v3DocumentsCarryEveryKind() async throws {
        try await withServer { _, client in
            for key in Set(Resources.all.map(Self.indexKey)) {
                let response = try await client.request(.GET, "/openapi/v3/\(key)")
                #expect(response.status == 200, "\(key)")
                let schemas = try #require(response.json.at("components.schemas")?.objectValue, "\(key)")
                let kinds = Set(schemas.values.flatMap(Self.kinds))
                let served = Resources.all.filter { Self.indexKey($0) == key }
                for resource in served {
                    let prefix = "\(resource.group)/\(resource.version)/"
                    #expect(kinds.contains(prefix + resource.kind), "\(key) lacks \(resource.kind)")
                    #expect(kinds.contains(prefix + resource.kind + "List"), "\(key) lacks \(resource.kind)List")
                    let schema = try #require(
                        schemas.values.first { Self.kinds($0) == [prefix + resource.kind] }, "\(resource.kind)")
                    let properties = try #require(schema["properties"]?.objectValue)
                    #expect(properties["apiVersion"]?.string("type") == "string")
                    #expect(properties["kind"]?.string("type") == "string")
                    let metadataRef = properties["metadata"]?.at("allOf.0")?.string("$ref")
                    #expect(metadataRef == "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
                    for (name, field) in properties where !["apiVersion", "kind", "metadata"].contains(name) {
                        #expect(field.string("description")?.isEmpty == false, "\(resource.kind).\(name)")
                    }
                    if let spec = properties["spec"] {
                        #expect(spec.string("type") == "object")
                        #expect(spec["x-kubernetes-preserve-unknown-fields"] == .bool(true))
                    }
                }
                let objectMeta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
                #expect(objectMeta?.at("properties.name.type") == .string("string"))
                #expect(objectMeta?.at("properties.labels.additionalProperties.type") == .string("string"))

                // Every PATCH names its kind and declares fieldValidation (so kubectl validates on the server).
                let paths = try #require(response.json["paths"]?.objectValue)
                var patched = Set<String>()
                for (path, item) in paths {
                    #expect(path.hasPrefix("/api/") || path.hasPrefix("/apis/"))
                    guard let patch = item["patch"] else { continue }
                    let kind = try #require(patch["x-kubernetes-group-version-kind"]?.string("kind"), "\(path)")
                    patched.insert(kind)
                    let parameters = patch["parameters"]?.arrayValue ?? []
                    #expect(
                        parameters.contains { $0.string("name") == "fieldValidation" && $0.string("in") == "query" },
                        "\(path)")
                    #expect(patch.at("requestBody.content")?["application/merge-patch+json"] != nil)
                }
                #expect(patched == Set(served.map(\.kind)))
            }
        }
    }

    @Test func unknownGroupVersionIsNotFound() async throws {
        try await withServer { _, client in
            let unknownGroup = try await client.request(.GET, "/openapi/v3/apis/nope.example.com/v1")
            #expect(unknownGroup.status == 404)
            let unknownVersion = try await client.request(.GET, "/openapi/v3/api/v2")
            #expect(unknownVersion.status == 404)
            let unknownOpenAPI = try await client.request(.GET, "/openapi/v4")
            #expect(unknownOpenAPI.status == 404)
            let post = try await client.request(.POST, "/openapi/v3", json: "{}")
            #expect(post.status == 405)
        }
    }

    @Test func v2JSON() async throws {
        try await withServer { _, client in
            let json = try await client.request(.GET, "/openapi/v2", headers: [("Accept", "application/json")])
            #expect(json.status == 200)
            #expect(json.json.string("swagger") == "2.0")
            let definitions = try #require(json.json["definitions"]?.objectValue)
            let kinds = Set(definitions.values.flatMap(Self.kinds))
            for resource in Resources.all {
                #expect(kinds.contains("\(resource.group)/\(resource.version)/\(resource.kind)"))
            }
            let noAccept = try await client.request(.GET, "/openapi/v2")
            #expect(noAccept.status == 200)
            #expect(noAccept.json.string("swagger") == "2.0")
            // Protobuf: OpenAPIProtobufTests.
        }
    }

    @Test func requiresAuthentication() async throws {
        try await withServer(tls: true, authentication: true) { _, client in
            let authenticated = try await client.request(.GET, "/openapi/v3")
            #expect(authenticated.status == 200)
            var anonymous = client
            anonymous.token = nil
            let anonymousV3 = try await anonymous.request(.GET, "/openapi/v3")
            #expect(anonymousV3.status == 401)
            let anonymousV2 = try await anonymous.request(.GET, "/openapi/v2")
            #expect(anonymousV2.status == 401)
        }
    }

    @Test func fieldValidationIsAccepted() async throws {
        try await withServer { _, client in
            for mode in ["Strict", "Warn", "Ignore"] {
                let name = "fv-\(mode.lowercased())"
                let created = try await client.request(
                    .POST, "/api/v1/namespaces/default/configmaps?fieldValidation=\(mode)&fieldManager=kubectl-create",
                    json: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\#(name)"},"data":{"a":"b"}}"#)
                #expect(created.status == 201, "\(created.text)")
                let patched = try await client.request(
                    .PATCH, "/api/v1/namespaces/default/configmaps/\(name)?fieldValidation=\(mode)",
                    json: #"{"data":{"a":"c"}}"#, contentType: "application/merge-patch+json")
                #expect(patched.status == 200, "\(patched.text)")
                #expect(patched.json.string("data.a") == "c")
            }
        }
    }
}

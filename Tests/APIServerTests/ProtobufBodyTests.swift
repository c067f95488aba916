import Foundation
import KubeModel
import Testing
import WeftNet

@testable import APIServer

/// Protobuf encoding for hand-made bodies (fields the kubectl captures do not carry).
enum ProtobufEncoding {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    static func field(_ number: Int, _ value: UInt64) -> [UInt8] { varint(UInt64(number) << 3) + varint(value) }

    static func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
        varint(UInt64(number) << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    static func field(_ number: Int, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }

    static func entry(_ number: Int, _ key: String, _ value: String) -> [UInt8] {
        field(number, field(1, key) + field(2, value))
    }

    /// `k8s\0` and a runtime.Unknown around `raw`.
    static func envelope(_ apiVersion: String, _ kind: String, _ raw: [UInt8], contentEncoding: String = "") -> [UInt8]
    {
        ProtobufBody.magic + field(1, field(1, apiVersion) + field(2, kind)) + field(2, raw)
            + field(3, contentEncoding) + field(4, "")
    }
}

@Suite("protobuf request bodies")
struct ProtobufBodyTests {
    typealias P = ProtobufEncoding

    static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    static func status(_ body: [UInt8]) -> Status? {
        do throws(Status) {
            _ = try ProtobufBody.json(body)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: ProtobufFixture.all)
    func kubectlBodies(_ fixture: ProtobufFixture) throws {
        #expect(try ProtobufBody.json(fixture.bytes) == Self.json(fixture.json))
    }

    @Test func secretDataIsBase64() throws {
        let secret = try #require(ProtobufFixture.all.first { $0.name == "secret" })
        let object = try ProtobufBody.json(secret.bytes)
        #expect(object["data"]?["pw"] == .string("cEBzcyB3MHJk"))  // base64 of "p@ss w0rd"
    }

    /// A Deployment with what the generators leave out: env from a Secret (an inline LocalObjectReference),
    /// resource limits (Quantity map values), a rolling update (IntOrString as string and int), timestamps, an
    /// explicit zero in a pointer field and a negative int32.
    @Test func deploymentDetails() throws {
        let container =
            P.field(1, "app") + P.field(2, "img:1")
            + P.field(7, P.field(1, "PLAIN") + P.field(2, "v"))
            + P.field(
                7, P.field(1, "TOKEN") + P.field(3, P.field(4, P.field(1, P.field(1, "creds")) + P.field(2, "t"))))
            + P.field(
                8, P.field(1, P.field(1, "cpu") + P.field(2, P.field(1, "500m"))) + P.field(1, P.field(1, "memory")))
            + P.field(16, 0) + P.field(14, "")
        let podSpec = P.field(2, container) + P.field(25, UInt64(bitPattern: -5)) + P.field(11, 0)
        let strategy =
            P.field(1, "RollingUpdate")
            + P.field(2, P.field(1, P.field(1, 1) + P.field(2, 0) + P.field(3, "25%")) + P.field(2, P.field(2, 2)))
        let spec =
            P.field(1, 0) + P.field(3, P.field(2, podSpec)) + P.field(4, strategy) + P.field(5, 0)
            + P.field(6, 0)
        let metadata =
            P.field(1, "d") + P.field(8, P.field(1, 1_715_000_000) + P.field(2, 5)) + P.field(10, 0)
            + P.entry(11, "app", "d") + P.field(14, "example.com/f")
        let body = P.envelope("apps/v1", "Deployment", P.field(1, metadata) + P.field(2, spec))
        let expected = try Self.json(
            """
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "d", "creationTimestamp": "2024-05-06T12:53:20Z", "deletionGracePeriodSeconds": 0,
                          "labels": {"app": "d"}, "finalizers": ["example.com/f"]},
             "spec": {"replicas": 0, "revisionHistoryLimit": 0,
                      "template": {"spec": {"priority": -5, "containers": [{
                          "name": "app", "image": "img:1",
                          "env": [{"name": "PLAIN", "value": "v"},
                                  {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "t"}}}],
                          "resources": {"limits": {"cpu": "500m", "memory": "0"}}}]}},
                      "strategy": {"type": "RollingUpdate",
                                   "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2}}}}
            """)
        #expect(try ProtobufBody.json(body) == expected)
    }

    /// Repeated scalars append, a message seen twice merges, a scalar seen twice keeps the last value; a map entry
    /// without a value has the zero value.
    @Test func protobufMergeRules() throws {
        let raw =
            P.field(1, P.field(1, "first") + P.field(14, "a")) + P.field(1, P.field(1, "cm") + P.field(14, "b"))
            + P.field(2, P.field(1, "empty")) + P.entry(2, "k", "v")
        let object = try ProtobufBody.json(P.envelope("v1", "ConfigMap", raw))
        #expect(
            object
                == (try Self.json(
                    """
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "finalizers": ["a", "b"]},
                     "data": {"empty": "", "k": "v"}}
                    """)))
    }

    @Test func unknownFieldsFailNamingMessageAndNumber() {
        let topLevel = Self.status(P.envelope("v1", "ConfigMap", P.field(9, "x")))
        #expect(topLevel?.code == 415)
        #expect(topLevel?.message?.contains("field 9 of protobuf message k8s.io.api.core.v1.ConfigMap") == true)

        // A liveness probe (Container field 10) is not in the schema: fail, do not drop it.
        let probe = P.field(10, P.field(1, P.field(1, "true")))
        let deployment = P.field(2, P.field(3, P.field(2, P.field(2, P.field(1, "c") + probe))))
        let nested = Self.status(P.envelope("apps/v1", "Deployment", deployment))
        #expect(nested?.code == 415)
        #expect(nested?.message?.contains("field 10 of protobuf message k8s.io.api.core.v1.Container") == true)

        let mapEntry = Self.status(P.envelope("v1", "ConfigMap", P.field(2, P.field(3, "x"))))
        #expect(
            mapEntry?.message?.contains("field 3 of protobuf message k8s.io.api.core.v1.ConfigMap.data entry") == true)
    }

    @Test func unsupportedKindsAndEnvelopes() {
        let pod = Self.status(P.envelope("v1", "Pod", []))
        #expect(pod?.code == 415)
        #expect(pod?.message?.contains("kind Pod (v1)") == true)
        let gzip = Self.status(P.envelope("v1", "ConfigMap", [], contentEncoding: "gzip"))
        #expect(gzip?.code == 415)
        let noKind = Self.status(ProtobufBody.magic + P.field(2, []))
        #expect(noKind?.code == 400)
    }

    @Test func malformedBodies() {
        #expect(Self.status(Array("{}".utf8))?.code == 400)
        #expect(Self.status(ProtobufBody.magic + [0x0A, 0x05])?.code == 400)
        let truncated = Self.status(P.envelope("v1", "ConfigMap", [0x0A, 0x09, 0x0A]))
        #expect(truncated?.code == 400)
        #expect(truncated?.message?.contains("k8s.io.api.core.v1.ConfigMap: truncated") == true)
        // metadata as a varint.
        let wireType = Self.status(P.envelope("v1", "ConfigMap", P.field(1, 7)))
        #expect(wireType?.code == 400)
        #expect(wireType?.message?.contains("field 1 of protobuf message k8s.io.api.core.v1.ConfigMap") == true)
        let envelopeField = Self.status(ProtobufBody.magic + P.field(7, "x"))
        #expect(envelopeField?.message?.contains("unexpected field 7") == true)
    }

    /// The server takes protobuf bodies on create (POST) and update (PUT) and answers JSON.
    @Test func overHTTP() async throws {
        try await withServer { _, client in
            let namespace = try #require(ProtobufFixture.all.first { $0.name == "namespace" })
            let created = try await client.request(
                .POST, "/api/v1/namespaces", body: Data(namespace.bytes), contentType: ProtobufBody.mediaType)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json.string("metadata.name") == "foo")

            let configMap = try #require(ProtobufFixture.all.first { $0.name == "configMap" })
            let configMaps = "/api/v1/namespaces/foo/configmaps"
            let posted = try await client.request(
                .POST, configMaps, body: Data(configMap.bytes), contentType: ProtobufBody.mediaType)
            #expect(posted.status == 201, "\(posted.text)")
            let put = try await client.request(
                .PUT, configMaps + "/c", body: Data(configMap.bytes), contentType: ProtobufBody.mediaType)
            #expect(put.status == 200, "\(put.text)")
            #expect(try await client.request(.GET, configMaps + "/c").json.string("data.hello") == "world")

            let unknown = try await client.request(
                .POST, configMaps, body: Data(P.envelope("v1", "ConfigMap", P.field(9, "x"))),
                contentType: ProtobufBody.mediaType)
            #expect(unknown.status == 415)
            #expect(unknown.json.string("reason") == "UnsupportedMediaType")
            #expect(unknown.json.string("message")?.contains("k8s.io.api.core.v1.ConfigMap") == true)
        }
    }

    /// Every message the table refers to is defined, field names are unique per message, and every root exists.
    @Test func schemaIsClosed() {
        let messages = KubeProtobufSchema.messages
        func check(_ kind: ProtobufMessage.Kind, in message: String) {
            switch kind {
            case .message(let name), .inline(let name):
                #expect(messages[name] != nil, "\(message) refers to \(name)")
            case .map(let value): check(value, in: message)
            default: break
            }
        }
        for message in messages.values {
            for field in message.fields.values { check(field.kind, in: message.name) }
            let names = message.fields.values.map(\.name).filter { !$0.isEmpty }
            #expect(Set(names).count == names.count, "\(message.name) has a JSON name twice")
        }
        for (kind, root) in KubeProtobufSchema.roots { #expect(messages[root] != nil, "\(kind)") }
        for special in [KubeProtobufSchema.intOrString, KubeProtobufSchema.quantity, KubeProtobufSchema.time] {
            #expect(messages[special] != nil)
        }
    }
}

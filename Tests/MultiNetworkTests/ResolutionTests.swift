import KubeModel
import MultiNetwork
import Testing
import WeftNet

let macvlanConf = #"{"cniVersion": "1.0.0", "type": "macvlan", "master": "eth0", "ipam": {"type": "static"}}"#
let bridgeList = #"""
    {"cniVersion": "1.0.0", "name": "br-net", "plugins": [
      {"type": "bridge", "bridge": "br1", "ipam": {"type": "host-local", "subnet": "10.10.0.0/24"}},
      {"type": "tuning", "capabilities": {"mac": true}, "args": {"cni": {"keep": 1}}},
      {"type": "portmap", "capabilities": {"portMappings": true}},
      {"type": "bandwidth", "capabilities": {"bandwidth": true}}]}
    """#

func nad(_ namespace: String, _ name: String, _ config: String?) -> NetworkAttachmentDefinition {
    var n = NetworkAttachmentDefinition(metadata: ObjectMeta(name: name, namespace: namespace), config: config ?? "")
    if config == nil { n.spec = nil }
    return n
}

let definitions = [
    nad("team", "macvlan-conf", macvlanConf), nad("team", "br", bridgeList), nad("default", "shared", macvlanConf),
    nad("other", "private", macvlanConf), nad("team", "broken", "{not json"), nad("team", "empty", nil),
    nad("team", "array", "[1]"), nad("team", "neither", #"{"cniVersion": "1.0.0"}"#),
    nad("team", "badname", #"{"cniVersion": "1.0.0", "name": "bad name", "type": "macvlan"}"#),
    nad("team", "noversion", #"{"type": "macvlan"}"#),
    nad("team", "pathtype", #"{"cniVersion": "1.0.0", "type": "../bin/sh"}"#),
]

func resolve(_ annotation: String, policy: CrossNamespacePolicy = .allowAll) throws -> [ResolvedAttachment] {
    try AttachmentResolver(policy: policy).resolve(
        NetworkSelection.parse(annotation: annotation), podNamespace: "team", definitions: definitions)
}

func resolveError(_ annotation: String, policy: CrossNamespacePolicy = .allowAll) -> String {
    do {
        _ = try resolve(annotation, policy: policy)
        return "no error"
    } catch {
        return "\(error)"
    }
}

@Suite struct ResolutionTests {
    @Test func singleConfigIsWrappedAndNamedAfterTheNAD() throws {
        let r = try resolve("macvlan-conf")
        #expect(r.count == 1)
        #expect(r[0].qualifiedName == "team/macvlan-conf")
        #expect(r[0].config.networkName == "macvlan-conf")
        #expect(r[0].config.cniVersion == "1.0.0")
        #expect(r[0].config.plugins.map { $0["type"]?.stringValue } == ["macvlan"])
        #expect(r[0].config.conflist["name"] == .string("macvlan-conf"))
    }

    @Test func conflistKeepsItsName() throws {
        let r = try resolve("br")
        #expect(r[0].config.networkName == "br-net")
        #expect(r[0].config.plugins.count == 4)
    }

    @Test func defaultNamespaceIsThePods() throws {
        #expect(try resolve("macvlan-conf,default/shared").map(\.namespace) == ["team", "default"])
    }

    @Test func crossNamespaceAllowedByDefault() throws {
        #expect(try resolve("other/private").map(\.qualifiedName) == ["other/private"])
    }

    @Test func isolationAllowsOwnAndDefaultOnly() throws {
        #expect(try resolve("macvlan-conf,default/shared", policy: .isolated).count == 2)
        #expect(
            resolveError("other/private", policy: .isolated)
                == "NetworkAttachmentDefinition other/private is in another namespace than the pod's (team) and "
                + "namespace isolation forbids it")
        // Denied before lookup: a missing NAD there is reported as denied, not as missing.
        #expect(resolveError("other/nothing", policy: .isolated).contains("namespace isolation forbids it"))
        let shared = CrossNamespacePolicy(namespaceIsolation: true, sharedNamespaces: ["other"])
        #expect(try resolve("other/private", policy: shared).count == 1)
        #expect(resolveError("default/shared", policy: shared).contains("forbids"))
    }

    @Test func missingNAD() {
        #expect(resolveError("nope") == "NetworkAttachmentDefinition team/nope not found")
    }

    @Test func badConfigsNameTheNAD() {
        #expect(resolveError("broken").hasPrefix("NetworkAttachmentDefinition team/broken: spec.config is not JSON: "))
        #expect(resolveError("array").contains("team/array: spec.config is a list, not a JSON object"))
        #expect(resolveError("neither").contains("team/neither: spec.config has neither \"type\""))
        #expect(resolveError("badname").contains("team/badname: spec.config has network name \"bad name\""))
        #expect(resolveError("noversion").contains("team/noversion: spec.config has no \"cniVersion\""))
        #expect(resolveError("pathtype").contains("type \"../bin/sh\", which is not a file name"))
        #expect(
            resolveError("empty")
                == "NetworkAttachmentDefinition team/empty has no spec.config; reading the configuration from a file "
                + "in the CNI configuration directory (as Multus does) is not supported")
    }
}

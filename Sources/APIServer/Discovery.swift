import KubeModel
import WeftNet

/// The legacy (non-aggregated) discovery documents kubectl falls back to: `/api`, `/api/v1`, `/apis`,
/// `/apis/{group}` and `/apis/{group}/{version}`, all generated from `Resources.all`.
enum Discovery {
    static let verbs: [JSONValue] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        .map(JSONValue.string)

    /// `/api`: the core group's versions.
    static func coreVersions(serverAddress: String) -> JSONValue {
        .object([
            "kind": .string("APIVersions"), "versions": .array([.string("v1")]),
            "serverAddressByClientCIDRs": .array([
                .object(["clientCIDR": .string("0.0.0.0/0"), "serverAddress": .string(serverAddress)])
            ]),
        ])
    }

    /// `/apis`: every named group.
    static func groupList(_ resources: [ResourceInfo]) -> JSONValue {
        .object([
            "kind": .string("APIGroupList"), "apiVersion": .string("v1"),
            "groups": .array(groups(resources).map { groupEntry($0, resources) }),
        ])
    }

    /// `/apis/{group}`, or nil for an unknown group.
    static func group(_ name: String, _ resources: [ResourceInfo]) -> JSONValue? {
        guard groups(resources).contains(name) else { return nil }
        var document = groupEntry(name, resources)
        document["kind"] = .string("APIGroup")
        document["apiVersion"] = .string("v1")
        return document
    }

    /// `/api/v1` or `/apis/{group}/{version}`, or nil for an unknown group version.
    static func resourceList(group: String, version: String, _ resources: [ResourceInfo]) -> JSONValue? {
        let served = resources.filter { $0.group == group && $0.version == version }
        guard !served.isEmpty else { return nil }
        var entries: [JSONValue] = []
        for resource in served {
            var entry: [String: JSONValue] = [
                "name": .string(resource.plural), "singularName": .string(ResourceRules.singular(resource)),
                "namespaced": .bool(resource.namespaced), "kind": .string(resource.kind), "verbs": .array(verbs),
            ]
            if !resource.shortNames.isEmpty { entry["shortNames"] = .array(resource.shortNames.map(JSONValue.string)) }
            if ResourceRules.inAllCategory.contains(resource.storageKey) {
                entry["categories"] = .array([.string("all")])
            }
            entries.append(.object(entry))
            if ResourceRules.hasStatus(resource) {
                entries.append(
                    .object([
                        "name": .string(resource.plural + "/status"), "singularName": .string(""),
                        "namespaced": .bool(resource.namespaced), "kind": .string(resource.kind),
                        "verbs": .array([.string("get"), .string("patch"), .string("update")]),
                    ]))
            }
            if ResourceRules.hasScale(resource) {
                // The group and version of the Scale kind, which kubectl's scale client looks up here.
                entries.append(
                    .object([
                        "name": .string(resource.plural + "/scale"), "singularName": .string(""),
                        "namespaced": .bool(resource.namespaced), "group": .string(Registry.scaleResource.group),
                        "version": .string(Registry.scaleResource.version),
                        "kind": .string(Registry.scaleResource.kind),
                        "verbs": .array([.string("get"), .string("patch"), .string("update")]),
                    ]))
            }
        }
        let groupVersion = group.isEmpty ? version : "\(group)/\(version)"
        return .object([
            "kind": .string("APIResourceList"), "apiVersion": .string("v1"), "groupVersion": .string(groupVersion),
            "resources": .array(entries),
        ])
    }

    /// `/version`.
    static func version() -> JSONValue {
        .object([
            "major": .string("1"), "minor": .string("32"), "gitVersion": .string(APIServer.gitVersion),
            "gitCommit": .string(""),
            "gitTreeState": .string("clean"), "buildDate": .string("1970-01-01T00:00:00Z"),
            "goVersion": .string("swift"), "compiler": .string("swift"),
            "platform": .string("linux/amd64"),
        ])
    }

    private static func groups(_ resources: [ResourceInfo]) -> [String] {
        var names: [String] = []
        for resource in resources where !resource.group.isEmpty && !names.contains(resource.group) {
            names.append(resource.group)
        }
        return names
    }

    private static func groupEntry(_ name: String, _ resources: [ResourceInfo]) -> JSONValue {
        var versions: [String] = []
        for resource in resources where resource.group == name && !versions.contains(resource.version) {
            versions.append(resource.version)
        }
        let entries = versions.map {
            JSONValue.object(["groupVersion": .string("\(name)/\($0)"), "version": .string($0)])
        }
        return .object(["name": .string(name), "versions": .array(entries), "preferredVersion": entries[0]])
    }
}

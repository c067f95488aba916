import Foundation
import KubeModel
import ServiceLifecycle
import Synchronization
import WeftNet

/// kube-controller-manager's EndpointSlice controller, inside the server: for every Service with a selector, the
/// EndpointSlices listing the matching pods (one group per IP family and per resolution of the Service's named
/// target ports), kept up to date as pods and Services change, and deleted with the Service.
///
/// Level-triggered: every Service, pod or managed-slice event marks its namespace dirty; a namespace is reconciled
/// as a whole in one store transaction, which writes only the slices that differ from what they should be.
final class EndpointSliceController: ServiceLifecycle.Service, Sendable {
    /// The `endpointslice.kubernetes.io/managed-by` value of the slices this controller owns.
    static let managedBy = "endpointslice-controller.weft"

    let store: ObjectStore
    private let queue = NamespaceQueue()

    init(store: ObjectStore) {
        self.store = store
    }

    /// Watches and reconciles until cancelled or shut down gracefully.
    func run() async throws {
        await queue.runController(
            store, following: [Resources.service, Resources.pod, Resources.endpointSlice].map { ($0, Self.affected) }
        ) { try await self.reconcile(namespace: $0) }
    }

    /// The namespace an event makes dirty: any Service or pod event, and events of the slices this controller
    /// manages (someone else's slices are theirs).
    private static func affected(_ event: ObjectStore.Event) -> [String] {
        if event.resourceKey == Resources.endpointSlice.storageKey {
            let managed = [event.object, event.oldObject].contains {
                $0?.labels["endpointslice.kubernetes.io/managed-by"] == Self.managedBy
            }
            guard managed else { return [] }
        }
        return [event.namespace]
    }

    /// Brings the managed EndpointSlices of one namespace to what its Services and pods call for.
    func reconcile(namespace: String) async throws {
        try await store.transaction { tx in
            let services = try tx.list(Resources.service, namespace: namespace)
            let pods = try tx.list(Resources.pod, namespace: namespace)
            let existing = try tx.list(Resources.endpointSlice, namespace: namespace).filter {
                $0.labels["endpointslice.kubernetes.io/managed-by"] == Self.managedBy
            }
            var desired: [String: JSONValue] = [:]
            for service in services {
                for slice in Self.desiredSlices(service: service, pods: pods) {
                    desired[slice.metadataString("name") ?? ""] = slice
                }
            }
            for (name, slice) in desired.sorted(by: { $0.key < $1.key }) {
                let current = try tx.get(Resources.endpointSlice, namespace: namespace, name: name)
                if let current, current.labels["endpointslice.kubernetes.io/managed-by"] != Self.managedBy {
                    continue  // someone else's slice of that name: leave it alone
                }
                var object = slice
                if let current {
                    for key in ["uid", "creationTimestamp", "generation", "resourceVersion"] {
                        object.setValue(current["metadata"]?[key], at: ["metadata", key])
                    }
                    if object == current { continue }
                    let generation = current["metadata"]?["generation"]?.int64Value ?? 0
                    object.setValue(.number(Double(generation + 1)), at: ["metadata", "generation"])
                } else {
                    object.setValue(.string(UUID().uuidString.lowercased()), at: ["metadata", "uid"])
                    object.setValue(.string(Registry.timestamp()), at: ["metadata", "creationTimestamp"])
                    object.setValue(.number(1), at: ["metadata", "generation"])
                }
                try tx.put(Resources.endpointSlice, namespace: namespace, name: name, object: object, old: current)
            }
            for slice in existing {
                let name = slice.metadataString("name") ?? ""
                if desired[name] == nil {
                    try tx.delete(Resources.endpointSlice, namespace: namespace, name: name, old: slice)
                }
            }
        }
    }

    // MARK: What the slices should be

    /// The slices of one Service (without server-set metadata): none without a selector or for ExternalName.
    static func desiredSlices(service: JSONValue, pods: [JSONValue]) -> [JSONValue] {
        guard let spec = service["spec"], spec["type"]?.stringValue != "ExternalName",
            let selector = spec["selector"]?.objectValue?.compactMapValues(\.stringValue), !selector.isEmpty
        else { return [] }
        let serviceName = service.metadataString("name") ?? ""
        let namespace = service.metadataString("namespace") ?? ""
        let families = spec["ipFamilies"]?.arrayValue?.compactMap(\.stringValue) ?? ["IPv4"]
        let servicePorts = spec["ports"]?.arrayValue ?? []
        let publishNotReady = spec["publishNotReadyAddresses"] == .bool(true)
        let headless = spec["clusterIP"]?.stringValue == "None"

        let selected = pods.filter { pod in
            let labels = pod.labels
            let phase = pod["status"]?["phase"]?.stringValue
            return selector.allSatisfy { labels[$0.key] == $0.value } && phase != "Succeeded" && phase != "Failed"
        }
        .sorted { ($0.metadataString("name") ?? "") < ($1.metadataString("name") ?? "") }

        var slices: [JSONValue] = []
        for family in families {
            let isV6 = family == "IPv6"
            // Pods grouped by how the Service's ports resolve against them.
            var groups: [(ports: [JSONValue], endpoints: [JSONValue])] = []
            for pod in selected {
                guard let address = podAddress(pod, v6: isV6) else { continue }
                let ports = resolvePorts(servicePorts, pod: pod)
                let endpoint = endpoint(
                    pod, address: address, serviceName: serviceName, publishNotReady: publishNotReady)
                if let index = groups.firstIndex(where: { $0.ports == ports }) {
                    groups[index].endpoints.append(endpoint)
                } else {
                    groups.append((ports, [endpoint]))
                }
            }
            if groups.isEmpty { groups = [([], [])] }
            for group in groups {
                let key = family + "|" + JSONCoding.encodeString(JSONValue.array(group.ports))
                var labels: [String: JSONValue] = [
                    "kubernetes.io/service-name": .string(serviceName),
                    "endpointslice.kubernetes.io/managed-by": .string(managedBy),
                ]
                if headless { labels["service.kubernetes.io/headless"] = .string("") }
                var ownerReference: [String: JSONValue] = [
                    "apiVersion": .string("v1"), "kind": .string("Service"), "name": .string(serviceName),
                    "controller": .bool(true), "blockOwnerDeletion": .bool(true),
                ]
                if let uid = service.metadataString("uid") { ownerReference["uid"] = .string(uid) }
                slices.append(
                    .object([
                        "apiVersion": .string(Resources.endpointSlice.apiVersion),
                        "kind": .string(Resources.endpointSlice.kind),
                        "metadata": .object([
                            "name": .string("\(serviceName)-\(hash(serviceName + "|" + key))"),
                            "namespace": .string(namespace), "labels": .object(labels),
                            "ownerReferences": .array([.object(ownerReference)]),
                        ]),
                        "addressType": .string(family), "endpoints": .array(group.endpoints),
                        "ports": .array(group.ports),
                    ]))
            }
        }
        return slices
    }

    /// The pod's address of one family (`status.podIPs`, else `status.podIP`).
    static func podAddress(_ pod: JSONValue, v6: Bool) -> String? {
        var candidates = pod["status"]?["podIPs"]?.arrayValue?.compactMap { $0["ip"]?.stringValue } ?? []
        if let single = pod["status"]?["podIP"]?.stringValue { candidates.append(single) }
        return candidates.first { text in IPAddress(text).map { $0.isIPv6 == v6 } ?? false }
    }

    /// The Service's ports as the pod serves them: named target ports looked up in its containers' ports (a name
    /// the pod does not have leaves the port out, as kube does).
    static func resolvePorts(_ servicePorts: [JSONValue], pod: JSONValue) -> [JSONValue] {
        let containerPorts = (pod["spec"]?["containers"]?.arrayValue ?? []).flatMap { $0["ports"]?.arrayValue ?? [] }
        var result: [JSONValue] = []
        for port in servicePorts {
            let proto = port["protocol"]?.stringValue ?? "TCP"
            let number: Double?
            switch port["targetPort"] {
            case .number(let value): number = value
            case .string(let text):
                if let value = Double(text) {
                    number = value
                } else {
                    number = containerPorts.first {
                        $0["name"]?.stringValue == text && ($0["protocol"]?.stringValue ?? "TCP") == proto
                    }?["containerPort"].flatMap { if case .number(let n) = $0 { n } else { nil } }
                }
            default:
                if case .number(let value)? = port["port"] { number = value } else { number = nil }
            }
            guard let number else { continue }
            var entry: [String: JSONValue] = [
                "name": .string(port["name"]?.stringValue ?? ""), "port": .number(number), "protocol": .string(proto),
            ]
            if let appProtocol = port["appProtocol"] { entry["appProtocol"] = appProtocol }
            result.append(.object(entry))
        }
        return result
    }

    static func endpoint(_ pod: JSONValue, address: String, serviceName: String, publishNotReady: Bool) -> JSONValue {
        let podReady =
            pod["status"]?["conditions"]?.arrayValue?.contains {
                $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
            } ?? false
        let terminating = pod.metadataString("deletionTimestamp") != nil
        let serving = publishNotReady || podReady
        let ready = publishNotReady || (serving && !terminating)
        var endpoint: [String: JSONValue] = [
            "addresses": .array([.string(address)]),
            "conditions": .object([
                "ready": .bool(ready), "serving": .bool(serving), "terminating": .bool(terminating),
            ]),
            "targetRef": .object([
                "kind": .string("Pod"), "namespace": pod["metadata"]?["namespace"] ?? .string(""),
                "name": pod["metadata"]?["name"] ?? .string(""), "uid": pod["metadata"]?["uid"] ?? .string(""),
            ]),
        ]
        if let node = pod["spec"]?["nodeName"]?.stringValue, !node.isEmpty { endpoint["nodeName"] = .string(node) }
        if let hostname = pod["spec"]?["hostname"]?.stringValue, !hostname.isEmpty,
            pod["spec"]?["subdomain"]?.stringValue == serviceName
        {
            endpoint["hostname"] = .string(hostname)
        }
        return .object(endpoint)
    }

    /// A short stable name suffix (FNV-1a, in the letters kube's name generator uses).
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        var result = ""
        for _ in 0..<8 {
            result.append(alphabet[Int(value % UInt64(alphabet.count))])
            value /= UInt64(alphabet.count)
        }
        return result
    }
}

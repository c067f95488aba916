import Foundation
import KubeModel
import WeftNet

/// meta.k8s.io/v1 `Table` output, as `kubectl get` asks for it (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`):
/// the columns kube-apiserver prints for pods, services, events, deployments, daemonsets, namespaces and nodes, NAME
/// and AGE for every other kind.
/// Columns with priority 1 are the ones `-o wide` adds.
enum TableConverter {
    struct Column {
        var name: String
        var type: String
        var priority: Int = 0
        var format: String = ""
        var cell: @Sendable (JSONValue, Date) -> JSONValue
    }

    /// Whether an `Accept` header asks for a Table.
    static func wantsTable(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.split(separator: ",").contains { part in
            let params = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            return params.contains("as=Table") && params.contains("g=meta.k8s.io")
                && (params.contains("v=v1") || params.contains("v=v1beta1"))
        }
    }

    static let contentType = "application/json;as=Table;v=v1;g=meta.k8s.io"

    /// A Table of `objects`; `headers: false` leaves out the column definitions (watch events after the first).
    static func table(
        _ resource: ResourceInfo, objects: [JSONValue], resourceVersion: String?, headers: Bool = true,
        now: Date = Date()
    ) -> JSONValue {
        let columns = columns(resource)
        let definitions: [JSONValue] = columns.map { column in
            .object([
                "name": .string(column.name), "type": .string(column.type), "format": .string(column.format),
                "description": .string(column.name), "priority": .number(Double(column.priority)),
            ])
        }
        let rows: [JSONValue] = objects.map { object in
            var metadata = object["metadata"] ?? .object([:])
            metadata["managedFields"] = nil
            return .object([
                "cells": .array(columns.map { $0.cell(object, now) }),
                "object": .object([
                    "kind": .string("PartialObjectMetadata"), "apiVersion": .string("meta.k8s.io/v1"),
                    "metadata": metadata,
                ]),
            ])
        }
        var metadata: [String: JSONValue] = [:]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        return .object([
            "kind": .string("Table"), "apiVersion": .string("meta.k8s.io/v1"), "metadata": .object(metadata),
            "columnDefinitions": .array(headers ? definitions : []), "rows": .array(rows),
        ])
    }

    /// The `-o wide` columns of Deployments and DaemonSets: the template's containers and images, the selector.
    static let workloadWideColumns: [Column] = [
        Column(name: "Containers", type: "string", priority: 1) { object, _ in
            let containers = object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue ?? []
            return .string(containers.compactMap { $0["name"]?.stringValue }.joined(separator: ","))
        },
        Column(name: "Images", type: "string", priority: 1) { object, _ in
            let containers = object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue ?? []
            return .string(containers.compactMap { $0["image"]?.stringValue }.joined(separator: ","))
        },
        Column(name: "Selector", type: "string", priority: 1) { object, _ in
            TableConverter.pairs(object["spec"]?["selector"]?["matchLabels"])
        },
    ]

    /// A string map as kubectl prints selectors: `k=v` sorted by key and comma-joined, `<none>` when empty.
    static func pairs(_ map: JSONValue?) -> JSONValue {
        let text = (map?.objectValue ?? [:]).compactMapValues(\.stringValue).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }
        return .string(text.isEmpty ? "<none>" : text.joined(separator: ","))
    }

    static func columns(_ resource: ResourceInfo) -> [Column] {
        let name = Column(name: "Name", type: "string", format: "name") { object, _ in
            .string(object.metadataString("name") ?? "")
        }
        let age = Column(name: "Age", type: "string") { object, now in
            .string(TableConverter.age(object.metadataString("creationTimestamp"), now: now))
        }
        switch resource.storageKey {
        case "/pods":
            return [
                name,
                Column(name: "Ready", type: "string") { object, _ in
                    let total = object["spec"]?["containers"]?.arrayValue?.count ?? 0
                    let ready = (object["status"]?["containerStatuses"]?.arrayValue ?? []).filter {
                        $0["ready"] == .bool(true)
                    }.count
                    return .string("\(ready)/\(total)")
                },
                Column(name: "Status", type: "string") { object, _ in
                    if object.metadataString("deletionTimestamp") != nil { return .string("Terminating") }
                    return .string(
                        object["status"]?["reason"]?.stringValue ?? object["status"]?["phase"]?.stringValue ?? "")
                },
                Column(name: "Restarts", type: "string") { object, _ in
                    let restarts = (object["status"]?["containerStatuses"]?.arrayValue ?? []).reduce(0) {
                        $0 + ($1["restartCount"]?.int64Value ?? 0)
                    }
                    return .string(String(restarts))
                },
                age,
                Column(name: "IP", type: "string", priority: 1) { object, _ in
                    .string(object["status"]?["podIP"]?.stringValue ?? "<none>")
                },
                Column(name: "Node", type: "string", priority: 1) { object, _ in
                    .string(object["spec"]?["nodeName"]?.stringValue ?? "<none>")
                },
                Column(name: "Nominated Node", type: "string", priority: 1) { _, _ in .string("<none>") },
                Column(name: "Readiness Gates", type: "string", priority: 1) { _, _ in .string("<none>") },
            ]
        case "/services":
            return [
                name,
                Column(name: "Type", type: "string") { object, _ in
                    .string(object["spec"]?["type"]?.stringValue ?? "ClusterIP")
                },
                Column(name: "Cluster-IP", type: "string") { object, _ in
                    .string(object["spec"]?["clusterIP"]?.stringValue ?? "<none>")
                },
                Column(name: "External-IP", type: "string") { object, _ in
                    let ips = object["spec"]?["externalIPs"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    return .string(ips.isEmpty ? "<none>" : ips.joined(separator: ","))
                },
                Column(name: "Port(s)", type: "string") { object, _ in
                    let ports = (object["spec"]?["ports"]?.arrayValue ?? []).map { port -> String in
                        let number = port["port"]?.int64Value.map(String.init) ?? "?"
                        let node = port["nodePort"]?.int64Value.map { ":\($0)" } ?? ""
                        return "\(number)\(node)/\(port["protocol"]?.stringValue ?? "TCP")"
                    }
                    return .string(ports.isEmpty ? "<none>" : ports.joined(separator: ","))
                },
                age,
                Column(name: "Selector", type: "string", priority: 1) { object, _ in
                    TableConverter.pairs(object["spec"]?["selector"])
                },
            ]
        case "/events":
            // kubectl's event printer (pkg/printers/internalversion printEvent).
            @Sendable func seen(_ object: JSONValue, _ key: String) -> String {
                object[key]?.stringValue ?? object["eventTime"]?.stringValue ?? object.metadataString(
                    "creationTimestamp")
                    ?? ""
            }
            return [
                Column(name: "Last Seen", type: "string") { object, now in
                    .string(TableConverter.age(seen(object, "lastTimestamp"), now: now))
                },
                Column(name: "Type", type: "string") { object, _ in .string(object["type"]?.stringValue ?? "") },
                Column(name: "Reason", type: "string") { object, _ in .string(object["reason"]?.stringValue ?? "") },
                Column(name: "Object", type: "string") { object, _ in
                    let involved = object["involvedObject"]
                    let kind = (involved?["kind"]?.stringValue ?? "").lowercased()
                    return .string("\(kind)/\(involved?["name"]?.stringValue ?? "")")
                },
                Column(name: "Subobject", type: "string", priority: 1) { object, _ in
                    .string(object["involvedObject"]?["fieldPath"]?.stringValue ?? "")
                },
                Column(name: "Source", type: "string", priority: 1) { object, _ in
                    let source = object["source"]
                    let parts = [source?["component"]?.stringValue, source?["host"]?.stringValue].compactMap { $0 }
                    return .string(
                        parts.isEmpty
                            ? (object["reportingComponent"]?.stringValue ?? "") : parts.joined(separator: ", "))
                },
                Column(name: "Message", type: "string") { object, _ in .string(object["message"]?.stringValue ?? "") },
                Column(name: "First Seen", type: "string", priority: 1) { object, now in
                    .string(TableConverter.age(seen(object, "firstTimestamp"), now: now))
                },
                Column(name: "Count", type: "string", priority: 1) { object, _ in
                    .string(String(object["count"]?.int64Value ?? 1))
                },
                Column(name: "Name", type: "string", priority: 1, format: "name") { object, _ in
                    .string(object.metadataString("name") ?? "")
                },
            ]
        case "apps/deployments":
            // kubectl's deployment printer: READY is ready/desired.
            return [
                name,
                Column(name: "Ready", type: "string") { object, _ in
                    let ready = object["status"]?["readyReplicas"]?.int64Value ?? 0
                    return .string("\(ready)/\(object["spec"]?["replicas"]?.int64Value ?? 1)")
                },
                Column(name: "Up-to-date", type: "integer") { object, _ in
                    .number(Double(object["status"]?["updatedReplicas"]?.int64Value ?? 0))
                },
                Column(name: "Available", type: "integer") { object, _ in
                    .number(Double(object["status"]?["availableReplicas"]?.int64Value ?? 0))
                },
                age,
            ] + workloadWideColumns
        case "apps/daemonsets":
            func count(_ title: String, _ key: String) -> Column {
                Column(name: title, type: "integer") { object, _ in
                    .number(Double(object["status"]?[key]?.int64Value ?? 0))
                }
            }
            return [
                name, count("Desired", "desiredNumberScheduled"), count("Current", "currentNumberScheduled"),
                count("Ready", "numberReady"), count("Up-to-date", "updatedNumberScheduled"),
                count("Available", "numberAvailable"),
                Column(name: "Node Selector", type: "string") { object, _ in
                    TableConverter.pairs(object["spec"]?["template"]?["spec"]?["nodeSelector"])
                },
                age,
            ] + workloadWideColumns
        case "/namespaces":
            return [
                name,
                Column(name: "Status", type: "string") { object, _ in
                    .string(object["status"]?["phase"]?.stringValue ?? "")
                },
                age,
            ]
        case "/nodes":
            return [
                name,
                Column(name: "Status", type: "string") { object, _ in
                    let ready = (object["status"]?["conditions"]?.arrayValue ?? []).first {
                        $0["type"]?.stringValue == "Ready"
                    }
                    let text =
                        ready?["status"]?.stringValue == "True" ? "Ready" : (ready == nil ? "Unknown" : "NotReady")
                    return .string(text)
                },
                Column(name: "Roles", type: "string") { _, _ in .string("<none>") },
                age,
                Column(name: "Version", type: "string") { object, _ in
                    .string(object["status"]?["nodeInfo"]?["kubeletVersion"]?.stringValue ?? "")
                },
            ]
        default:
            return [name, age]
        }
    }

    /// The age of an object the way kubectl prints it (`5s`, `3m2s`, `4h`, `2d5h`).
    static func age(_ timestamp: String?, now: Date) -> String {
        guard let timestamp, let created = try? Date(timestamp, strategy: Date.ISO8601FormatStyle()) else {
            return "<unknown>"
        }
        return humanDuration(now.timeIntervalSince(created))
    }

    /// kube's `duration.HumanDuration`.
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = hours / 24 % 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }
}

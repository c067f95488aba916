import Foundation
import KubeClient
import KubeModel
import WeftNet

/// The manifests `weft lab up -f` applies: read and checked before the lab is made, applied as `kubectl apply`
/// would create or replace them, then waited for until their pods run and are Ready.
public struct LabManifests: Sendable {
    /// One object to apply, with where it came from (for messages).
    public struct Item: Sendable {
        public var object: JSONValue
        public var resource: ResourceInfo
        public var source: String

        public var name: String { object["metadata"]?["name"]?.stringValue ?? "" }
        public var namespace: String? {
            resource.namespaced ? object["metadata"]?["namespace"]?.stringValue ?? "default" : nil
        }
        public var display: String {
            "\(resource.kind.lowercased())/\(name)" + (namespace.map { " in \($0)" } ?? "")
        }
    }

    public var items: [Item]

    public init(items: [Item]) { self.items = items }

    /// Reads files and directories (their `.yaml`, `.yml` and `.json` files, by name). Every document must parse,
    /// be of a kind the lab serves, and have a name; else the error names the file and the document.
    public static func load(_ arguments: [String]) throws -> LabManifests {
        var files: [String] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw LabControlError.manifest("\(argument): no such file or directory")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: argument).sorted()
                files += names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
                    .map { argument + "/" + $0 }
            } else {
                files.append(argument)
            }
        }
        var items: [Item] = []
        for file in files {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw LabControlError.manifest("\(file): cannot read it: \(error.localizedDescription)")
            }
            items += try parse(text, source: file).items
        }
        return LabManifests(items: items)
    }

    /// The objects of one YAML or JSON text (several documents), checked as `load` checks a file's.
    static func parse(_ text: String, source file: String) throws -> LabManifests {
        let objects: [JSONValue]
        do { objects = try Manifest.decodeDocuments(text) } catch {
            throw LabControlError.manifest("\(file): \(error)")
        }
        var items: [Item] = []
        for object in objects {
            let apiVersion = object["apiVersion"]?.stringValue ?? ""
            let kind = object["kind"]?.stringValue ?? ""
            guard let resource = Resources.find(apiVersion: apiVersion, kind: kind) else {
                throw LabControlError.manifest(
                    "\(file): unknown kind \"\(kind)\" of apiVersion \"\(apiVersion)\" (the lab serves: "
                        + Resources.all.map(\.kind).joined(separator: ", ") + ")")
            }
            let item = Item(object: object, resource: resource, source: file)
            guard !item.name.isEmpty else {
                throw LabControlError.manifest("\(file): a \(kind) without metadata.name")
            }
            items.append(item)
        }
        return LabManifests(items: items)
    }

    /// Creates each object, or replaces it when it exists (namespaces first, so objects in them can be created).
    public func apply(with client: KubeClient, progress: (String) -> Void) async throws {
        let ordered =
            items.filter { $0.resource.kind == "Namespace" } + items.filter { $0.resource.kind != "Namespace" }
        for item in ordered {
            do {
                _ = try await client.create(item.resource, item.object, namespace: item.namespace)
                progress("created \(item.display)")
            } catch let error as KubeAPIError where error.httpStatus == 409 {
                let current = try await client.get(item.resource, name: item.name, namespace: item.namespace)
                var replacement = item.object
                replacement["metadata"]?["resourceVersion"] = current["metadata"]?["resourceVersion"]
                _ = try await client.update(item.resource, replacement, namespace: item.namespace)
                progress("configured \(item.display)")
            } catch let error as KubeAPIError {
                throw LabControlError.manifest(
                    "\(item.source): \(item.display): \(error.status.message ?? "HTTP \(error.httpStatus)")")
            }
        }
    }

    /// Waits until the pods of what was applied run and are Ready: every Pod applied, and `replicas` ready pods of
    /// each Deployment and a ready pod on every eligible node of each DaemonSet (their status says so). Prints the
    /// count as it changes. On timeout the error lists what is not ready and why.
    public func waitUntilReady(
        with client: KubeClient, timeout: Duration = .seconds(120), progress: (String) -> Void
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while true {
            var pending: [String] = []
            var ready = 0
            var total = 0
            for item in items {
                switch item.resource.kind {
                case "Pod":
                    total += 1
                    let pod = try? await client.get(Pod.self, name: item.name, namespace: item.namespace)
                    if let pod, pod.isReady || pod.status?.phase == "Succeeded" {
                        ready += 1
                    } else {
                        pending.append("pod/\(item.name): " + Self.why(pod))
                    }
                case "Deployment", "DaemonSet":
                    let object = try? await client.get(item.resource, name: item.name, namespace: item.namespace)
                    let status = object?["status"]
                    let wanted =
                        item.resource.kind == "Deployment"
                        ? Int(object?["spec"]?["replicas"]?.doubleValue ?? 1)
                        : Int(status?["desiredNumberScheduled"]?.doubleValue ?? 0)
                    let have = Int(
                        status?[item.resource.kind == "Deployment" ? "readyReplicas" : "numberReady"]?.doubleValue ?? 0)
                    let observed =
                        status?["observedGeneration"]?.doubleValue == object?["metadata"]?["generation"]?.doubleValue
                    total += wanted
                    ready += min(have, wanted)
                    if have < wanted || !observed || (item.resource.kind == "DaemonSet" && wanted == 0) {
                        pending.append("\(item.resource.kind.lowercased())/\(item.name): \(have)/\(wanted) ready")
                        if item.resource.kind == "DaemonSet" && wanted == 0 { total += 1 }
                    }
                default:
                    continue
                }
            }
            let line = "pods ready: \(ready)/\(total)"
            if line != last {
                progress(line)
                last = line
            }
            if pending.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                throw LabControlError.timedOut(
                    "not ready after \(timeout.components.seconds) s:\n  " + pending.joined(separator: "\n  "))
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Why a pod is not ready, from its status: the waiting container's reason and message, or the pod's.
    static func why(_ pod: Pod?) -> String {
        guard let pod else { return "not found" }
        let statuses = pod.status?.containerStatuses ?? []
        for status in statuses {
            if let waiting = status["state"]?["waiting"] {
                return [waiting["reason"]?.stringValue, waiting["message"]?.stringValue].compactMap { $0 }
                    .joined(separator: ": ")
            }
            if let terminated = status["state"]?["terminated"] {
                return "exited with \(Int(terminated["exitCode"]?.doubleValue ?? 0))"
            }
        }
        let phase = pod.status?.phase ?? "Pending"
        return [phase, pod.status?.reason, pod.status?.message].compactMap { $0 }.joined(separator: ": ")
    }
}

import Foundation
import KubeModel
import WeftNet

/// Builds a pod's core/v1 PodStatus from what the lab kubelet knows: phase, conditions, addresses and container
/// statuses, as the kubelet's `generateAPIPodStatus` does (pkg/kubelet/kubelet_pods.go). Pure, for tests.
public struct PodStatusBuilder: Sendable {
    public var podIPs: [String]
    public var hostIPs: [String]
    public var startTime: Date
    /// The pod's network is up (`PodReadyToStartContainers`).
    public var sandboxReady: Bool
    public var containers: [ContainerRecord]
    public var restartPolicy: RestartPolicy
    /// A pod-level failure before any container ran (the kubelet rejected the pod): phase Failed.
    public var rejection: (reason: String, message: String)?
    /// The sandbox could not be made yet (its last error): stays Pending with the message.
    public var sandboxError: String?

    public init(
        podIPs: [String], hostIPs: [String], startTime: Date, sandboxReady: Bool, containers: [ContainerRecord],
        restartPolicy: RestartPolicy
    ) {
        self.podIPs = podIPs
        self.hostIPs = hostIPs
        self.startTime = startTime
        self.sandboxReady = sandboxReady
        self.containers = containers
        self.restartPolicy = restartPolicy
    }

    /// The pod phase (core/v1 PodPhase): Failed when rejected; Succeeded/Failed once every container finished for
    /// good; Running once every container has started (at least one still running or restarting); else Pending.
    public var phase: String {
        if rejection != nil { return "Failed" }
        if !containers.isEmpty, containers.allSatisfy(\.finished) {
            return containers.allSatisfy { $0.exitCode == 0 } ? "Succeeded" : "Failed"
        }
        if sandboxReady, !containers.isEmpty, containers.allSatisfy(\.hasStarted) { return "Running" }
        return "Pending"
    }

    public var allReady: Bool { !containers.isEmpty && containers.allSatisfy { $0.ready && $0.isRunning } }

    /// The whole `status` object; `previous` supplies the conditions others own (`PodScheduled`) and keeps
    /// `lastTransitionTime` where a condition's status did not change.
    public func status(previous: JSONValue?, now: Date = Date()) -> JSONValue {
        var status: [String: JSONValue] = [
            "phase": .string(phase),
            "startTime": .string(Self.timestamp(startTime)),
            "qosClass": .string("BestEffort"),
        ]
        if let rejection {
            status["reason"] = .string(rejection.reason)
            status["message"] = .string(rejection.message)
        } else if let sandboxError {
            status["message"] = .string(sandboxError)
        }
        if !hostIPs.isEmpty {
            status["hostIP"] = .string(hostIPs[0])
            status["hostIPs"] = .array(hostIPs.map { .object(["ip": .string($0)]) })
        }
        if !podIPs.isEmpty {
            status["podIP"] = .string(podIPs[0])
            status["podIPs"] = .array(podIPs.map { .object(["ip": .string($0)]) })
        }
        let notReady = containers.filter { !($0.ready && $0.isRunning) }.map(\.name)
        let readyMessage =
            notReady.isEmpty ? nil : "containers with unready status: [\(notReady.joined(separator: " "))]"
        var conditions: [(type: String, status: Bool, reason: String?, message: String?)] = [
            ("PodReadyToStartContainers", sandboxReady, nil, nil),
            ("Initialized", true, nil, nil),
            ("Ready", allReady, allReady ? nil : "ContainersNotReady", readyMessage),
            ("ContainersReady", allReady, allReady ? nil : "ContainersNotReady", readyMessage),
        ]
        if phase == "Succeeded" || phase == "Failed" {
            conditions[2].reason = "PodCompleted"
            conditions[3].reason = "PodCompleted"
        }
        let previousConditions = previous?["conditions"]?.arrayValue ?? []
        var out: [JSONValue] = previousConditions.filter { $0["type"]?.stringValue == "PodScheduled" }
        for condition in conditions {
            let statusText = condition.status ? "True" : "False"
            let before = previousConditions.first { $0["type"]?.stringValue == condition.type }
            let transition =
                before?["status"]?.stringValue == statusText
                ? before?["lastTransitionTime"] ?? .string(Self.timestamp(now)) : .string(Self.timestamp(now))
            var object: [String: JSONValue] = [
                "type": .string(condition.type), "status": .string(statusText), "lastProbeTime": .null,
                "lastTransitionTime": transition,
            ]
            if let reason = condition.reason { object["reason"] = .string(reason) }
            if let message = condition.message { object["message"] = .string(message) }
            out.append(.object(object))
        }
        status["conditions"] = .array(out)
        status["containerStatuses"] = .array(containers.map(Self.containerStatus))
        return .object(status)
    }

    static func containerStatus(_ c: ContainerRecord) -> JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(c.name), "image": .string(c.image), "imageID": .string(""),
            "ready": .bool(c.ready && c.isRunning), "started": .bool(c.isRunning),
            "restartCount": .number(Double(c.restartCount)), "state": state(c.state),
            "lastState": c.lastState.map(state) ?? .object([:]),
        ]
        if let pid = c.pid { object["containerID"] = .string("weft://\(pid)") }
        return .object(object)
    }

    static func state(_ state: ContainerRecord.State) -> JSONValue {
        switch state {
        case .waiting(let reason, let message):
            var waiting: [String: JSONValue] = ["reason": .string(reason)]
            if let message { waiting["message"] = .string(message) }
            return .object(["waiting": .object(waiting)])
        case .running(let startedAt):
            return .object(["running": .object(["startedAt": .string(timestamp(startedAt))])])
        case .terminated(let exitCode, let reason, let message, let startedAt, let finishedAt):
            var terminated: [String: JSONValue] = [
                "exitCode": .number(Double(exitCode)), "reason": .string(reason),
                "finishedAt": .string(timestamp(finishedAt)),
            ]
            if let message { terminated["message"] = .string(message) }
            if let startedAt { terminated["startedAt"] = .string(timestamp(startedAt)) }
            return .object(["terminated": .object(terminated)])
        }
    }

    /// RFC 3339 in UTC with seconds, as Kubernetes writes times.
    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

import Foundation

/// What the lab kubelet knows of one container of a pod: the value `PodStatusBuilder` turns into a core/v1
/// ContainerStatus.
public struct ContainerRecord: Sendable, Equatable {
    /// core/v1 ContainerState: exactly one of waiting, running, terminated.
    public enum State: Sendable, Equatable {
        case waiting(reason: String, message: String?)
        case running(startedAt: Date)
        case terminated(exitCode: Int32, reason: String, message: String?, startedAt: Date?, finishedAt: Date)
    }

    public var name: String
    public var image: String
    public var state: State
    /// The state before the last restart.
    public var lastState: State?
    public var restartCount: Int
    /// The readiness probe's verdict (a container without one is ready while it runs).
    public var ready: Bool
    /// The process id while running (`containerID` is `weft://PID`).
    public var pid: Int32?

    public init(name: String, image: String) {
        self.name = name
        self.image = image
        state = .waiting(reason: "ContainerCreating", message: nil)
        restartCount = 0
        ready = false
    }

    public var isRunning: Bool {
        if case .running = state { return true }
        return false
    }

    /// Exited and will not be started again (set by the worker once the restart policy says so).
    public var finished = false

    public var exitCode: Int32? {
        if case .terminated(let code, _, _, _, _) = state { return code }
        return nil
    }

    /// Whether it has run at least once.
    public var hasStarted: Bool {
        switch state {
        case .running, .terminated: true
        case .waiting: lastState != nil
        }
    }
}

/// When a container that exited is started again (core/v1 `restartPolicy`).
public enum RestartPolicy: String, Sendable {
    case always = "Always"
    case onFailure = "OnFailure"
    case never = "Never"

    public init(_ text: String?) { self = text.flatMap(RestartPolicy.init(rawValue:)) ?? .always }

    public func restarts(exitCode: Int32) -> Bool {
        switch self {
        case .always: true
        case .onFailure: exitCode != 0
        case .never: false
        }
    }
}

/// The lab kubelet's delay before restarting a container that exited: 1 s, doubling to 60 s (the kubelet starts at
/// 10 s and caps at 5 min; the lab is for trying things, so it retries sooner), back to 1 s after 10 min of
/// running.
public struct RestartBackoff: Sendable, Equatable {
    public static let initial: Duration = .seconds(1)
    public static let maximum: Duration = .seconds(60)
    public static let resetAfter: Duration = .seconds(600)

    public private(set) var next: Duration = Self.initial

    public init() {}

    /// The delay after an exit that followed `ranFor` of running; advances the backoff.
    public mutating func delay(afterRunning ranFor: Duration) -> Duration {
        if ranFor >= Self.resetAfter { next = Self.initial }
        let delay = next
        next = min(next * 2, Self.maximum)
        return delay
    }
}

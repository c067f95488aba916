/// core/v1 Event: something that happened to an object (`involvedObject`), as `kubectl describe` and
/// `kubectl get events` show it. Components report with `reason` (UpperCamelCase, machine-readable), `message`,
/// `type` (`Normal` or `Warning`) and `source`/`reportingComponent`.
public struct Event: KubeObject, FieldCodable {
    public static let resource = Resources.event
    public var apiVersion = Event.resource.apiVersion
    public var kind = Event.resource.kind
    public var metadata = ObjectMeta()
    public var involvedObject = ObjectReference()
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var source: EventSource?
    /// RFC 3339 times.
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var count: Int?
    /// RFC 3339 with microseconds (events.k8s.io style).
    public var eventTime: String?
    public var action: String?
    public var reportingComponent: String?
    public var reportingInstance: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        metadata: ObjectMeta, involvedObject: ObjectReference, reason: String, message: String,
        type: String = "Normal", component: String
    ) {
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
        self.source = EventSource(component: component)
        self.reportingComponent = component
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .value("involvedObject", \.involvedObject), .optional("reason", \.reason), .optional("message", \.message),
        .optional("type", \.type), .optional("source", \.source), .optional("firstTimestamp", \.firstTimestamp),
        .optional("lastTimestamp", \.lastTimestamp), .optional("count", \.count), .optional("eventTime", \.eventTime),
        .optional("action", \.action), .optional("reportingComponent", \.reportingComponent),
        .optional("reportingInstance", \.reportingInstance),
    ]
}

/// Who reported an Event.
public struct EventSource: FieldCodable {
    public var component: String?
    public var host: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(component: String, host: String? = nil) {
        self.component = component
        self.host = host
    }

    public static let fields: [CodingField<Self>] = [
        .optional("component", \.component), .optional("host", \.host),
    ]
}

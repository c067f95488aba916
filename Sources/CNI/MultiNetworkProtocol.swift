import Glibc
import WeftNet

// weft-cni ↔ `weft agent` (issue 9): one JSON object per line over the agent's unix socket, one request and one
// answer per connection. The agent resolves (it has the API: pods and NetworkAttachmentDefinitions), weft-cni
// executes (it runs in the runtime's CNI call, with the pod's netns and CNI_PATH).
//
//     → {"op":"resolve","namespace":"a","name":"web","uid":"…","containerID":"…","ifname":"eth0"}
//     ← {"ok":true,"plan":{"clusterInterface":"eth0","attachments":[…]}}    or "plan":null: no annotation
//     ← {"ok":false,"error":"annotation k8s.v1.cni.cncf.io/networks, network 2: …"}
//     → {"op":"status","namespace":"a","name":"web","uid":"…","containerID":"…","clusterNetwork":"weft",
//        "results":[{"attachment":"weft","ifname":"eth0","default":true,"result":{…CNI result…}}, …]}
//        or with "error": "…" when the ADD failed (the agent records an Event instead of the annotation)
//     ← {"ok":true} or {"ok":false,"error":"…"}

/// Which pod a request is about (from `CNI_ARGS` and the CNI environment).
public struct PodReference: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var uid: String
    public var containerID: String

    public init(namespace: String, name: String, uid: String = "", containerID: String = "") {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.containerID = containerID
    }
}

/// One network's ADD result, reported for the network-status annotation.
public struct AttachmentOutcome: Sendable, Hashable {
    /// `namespace/nad`, or the cluster network's name.
    public var attachment: String
    public var ifname: String
    public var isDefault: Bool
    /// The CNI result as the plugin printed it.
    public var result: JSONValue

    public init(attachment: String, ifname: String, isDefault: Bool, result: JSONValue) {
        self.attachment = attachment
        self.ifname = ifname
        self.isDefault = isDefault
        self.result = result
    }
}

/// A request to the agent.
public enum MultiNetworkRequest: Sendable, Hashable {
    /// The pod's secondary networks, resolved for `ifname` as the cluster network's interface.
    case resolve(PodReference, clusterInterface: String)
    /// What the ADD gave (`results`, cluster network first) or why it failed (`error`).
    case status(PodReference, clusterNetwork: String, results: [AttachmentOutcome], error: String?)
}

/// The agent's answer to `resolve`.
public enum ResolveResponse: Sendable, Hashable {
    /// The pod asks for no secondary network.
    case noAttachments
    case plan(AttachmentPlan)
    /// The pod cannot start: the message names the problem.
    case failure(String)
    /// The agent could not find out now (the API server did not answer): the runtime should try again later.
    case unavailable(String)
}

/// Why talking to the agent failed.
public struct MultiNetworkProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - JSON

extension PodReference {
    var jsonFields: [String: JSONValue] {
        [
            "namespace": .string(namespace), "name": .string(name), "uid": .string(uid),
            "containerID": .string(containerID),
        ]
    }

    init(json o: [String: JSONValue]) throws(MultiNetworkProtocolError) {
        guard let namespace = o["namespace"]?.stringValue, let name = o["name"]?.stringValue else {
            throw MultiNetworkProtocolError("request has no pod namespace and name")
        }
        self.init(
            namespace: namespace, name: name, uid: o["uid"]?.stringValue ?? "",
            containerID: o["containerID"]?.stringValue ?? "")
    }
}

extension MultiNetworkRequest {
    public var json: JSONValue {
        switch self {
        case .resolve(let pod, let ifname):
            var o = pod.jsonFields
            o["op"] = .string("resolve")
            o["ifname"] = .string(ifname)
            return .object(o)
        case .status(let pod, let cluster, let results, let error):
            var o = pod.jsonFields
            o["op"] = .string("status")
            o["clusterNetwork"] = .string(cluster)
            o["results"] = .array(results.map(\.json))
            if let error { o["error"] = .string(error) }
            return .object(o)
        }
    }

    public init(json: JSONValue) throws(MultiNetworkProtocolError) {
        guard case .object(let o) = json else { throw MultiNetworkProtocolError("request is not a JSON object") }
        let pod = try PodReference(json: o)
        switch o["op"]?.stringValue {
        case "resolve":
            self = .resolve(pod, clusterInterface: o["ifname"]?.stringValue ?? AttachmentPlan.clusterInterface)
        case "status":
            var results: [AttachmentOutcome] = []
            for item in o["results"]?.arrayValue ?? [] { results.append(try AttachmentOutcome(json: item)) }
            self = .status(
                pod, clusterNetwork: o["clusterNetwork"]?.stringValue ?? "", results: results,
                error: o["error"]?.stringValue)
        case let op:
            throw MultiNetworkProtocolError("unknown op \(op.map { "\"\($0)\"" } ?? "(none)")")
        }
    }
}

extension AttachmentOutcome {
    public var json: JSONValue {
        .object([
            "attachment": .string(attachment), "ifname": .string(ifname), "default": .bool(isDefault),
            "result": result,
        ])
    }

    public init(json: JSONValue) throws(MultiNetworkProtocolError) {
        guard let attachment = json["attachment"]?.stringValue, let ifname = json["ifname"]?.stringValue else {
            throw MultiNetworkProtocolError("a result has no attachment or ifname")
        }
        self.init(
            attachment: attachment, ifname: ifname, isDefault: json["default"] == .bool(true),
            result: json["result"] ?? .object([:]))
    }
}

extension ResolveResponse {
    public var json: JSONValue {
        switch self {
        case .noAttachments: return .object(["ok": .bool(true), "plan": .null])
        case .plan(let plan): return .object(["ok": .bool(true), "plan": plan.json])
        case .failure(let message): return .object(["ok": .bool(false), "error": .string(message)])
        case .unavailable(let message):
            return .object(["ok": .bool(false), "error": .string(message), "temporary": .bool(true)])
        }
    }

    public init(json: JSONValue) throws(MultiNetworkProtocolError) {
        guard json["ok"] == .bool(true) else {
            let message = json["error"]?.stringValue ?? "the agent answered without a reason"
            self = json["temporary"] == .bool(true) ? .unavailable(message) : .failure(message)
            return
        }
        guard let plan = json["plan"], plan != .null else {
            self = .noAttachments
            return
        }
        self = .plan(try AttachmentPlan(json: plan))
    }
}

extension AttachmentStep {
    /// The step as JSON: the wire form and weft-cni's saved plan.
    public var json: JSONValue {
        .object([
            "index": .number(Double(index)), "attachment": .string(attachment), "networkName": .string(networkName),
            "cniVersion": .string(cniVersion), "ifname": .string(ifname), "conflist": conflist,
            "cniArgs": .array(cniArgs.map { .array([.string($0.key), .string($0.value)]) }),
            "capabilityArgs": .object(capabilityArgs),
            "defaultRoute": .array(defaultRoute.map { .string($0.description) }),
        ])
    }

    public init(json: JSONValue) throws(MultiNetworkProtocolError) {
        guard let attachment = json["attachment"]?.stringValue, let networkName = json["networkName"]?.stringValue,
            let cniVersion = json["cniVersion"]?.stringValue, let ifname = json["ifname"]?.stringValue,
            let conflist = json["conflist"], case .array? = conflist["plugins"]
        else {
            throw MultiNetworkProtocolError(
                "an attachment lacks attachment, networkName, cniVersion, ifname or conflist")
        }
        var args: [CNIArg] = []
        for pair in json["cniArgs"]?.arrayValue ?? [] {
            guard let kv = pair.arrayValue, kv.count == 2, let k = kv[0].stringValue, let v = kv[1].stringValue else {
                throw MultiNetworkProtocolError("cniArgs of \(attachment) must be [key, value] pairs")
            }
            args.append(CNIArg(k, v))
        }
        var gateways: [IPAddress] = []
        for gw in json["defaultRoute"]?.arrayValue ?? [] {
            guard let text = gw.stringValue, let address = IPAddress(text) else {
                throw MultiNetworkProtocolError("defaultRoute of \(attachment) holds a non-address")
            }
            gateways.append(address)
        }
        var index = 0
        if case .number(let n)? = json["index"] { index = Int(n) }
        self.init(
            index: index, attachment: attachment, networkName: networkName, cniVersion: cniVersion, ifname: ifname,
            conflist: conflist, cniArgs: args, capabilityArgs: json["capabilityArgs"]?.objectValue ?? [:],
            defaultRoute: gateways)
    }
}

extension AttachmentPlan {
    public var json: JSONValue {
        .object(["clusterInterface": .string(clusterInterface), "attachments": .array(attachments.map(\.json))])
    }

    public init(json: JSONValue) throws(MultiNetworkProtocolError) {
        var steps: [AttachmentStep] = []
        for item in json["attachments"]?.arrayValue ?? [] { steps.append(try AttachmentStep(json: item)) }
        self.init(
            clusterInterface: json["clusterInterface"]?.stringValue ?? AttachmentPlan.clusterInterface,
            attachments: steps)
    }
}

// MARK: - Client

/// The client side: one request, one answer, over a unix stream socket, with a deadline.
public struct MultiNetworkClient: Sendable {
    public var socketPath: String
    /// The deadline for each read or write (SO_RCVTIMEO / SO_SNDTIMEO).
    public var timeoutSeconds: Int
    /// How long a missing or refusing socket is retried (the agent starting or restarting), every 50 ms.
    public var connectWaitSeconds: Int

    public init(socketPath: String, timeoutSeconds: Int = 30, connectWaitSeconds: Int = 5) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
        self.connectWaitSeconds = connectWaitSeconds
    }

    public func resolve(_ pod: PodReference, clusterInterface: String) throws(MultiNetworkProtocolError)
        -> ResolveResponse
    {
        try ResolveResponse(
            json: try exchange(MultiNetworkRequest.resolve(pod, clusterInterface: clusterInterface).json))
    }

    public func report(_ pod: PodReference, clusterNetwork: String, results: [AttachmentOutcome], error: String?)
        throws(MultiNetworkProtocolError)
    {
        let answer = try exchange(
            MultiNetworkRequest.status(pod, clusterNetwork: clusterNetwork, results: results, error: error).json)
        guard answer["ok"] == .bool(true) else {
            throw MultiNetworkProtocolError(answer["error"]?.stringValue ?? "the agent refused the status")
        }
    }

    /// Sends `request` as one line and reads the one-line answer.
    public func exchange(_ request: JSONValue) throws(MultiNetworkProtocolError) -> JSONValue {
        func fail(_ what: String) -> MultiNetworkProtocolError {
            MultiNetworkProtocolError("agent socket \(socketPath): \(what): \(String(cString: strerror(errno)))")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw MultiNetworkProtocolError("agent socket path \(socketPath) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        var waited = 0
        while true {
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if connected == 0 { break }
            guard errno == ENOENT || errno == ECONNREFUSED || errno == EINTR, waited < connectWaitSeconds * 1000
            else { throw fail("connect") }
            usleep(50_000)
            waited += 50
        }
        let bytes = request.serialized() + [UInt8(ascii: "\n")]
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw fail("write") }
            offset += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !answer.contains(UInt8(ascii: "\n")) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw fail(errno == EAGAIN ? "no answer within \(timeoutSeconds) s" : "read") }
            if n == 0 { break }
            answer += buffer[0..<n]
        }
        let line = answer.prefix { $0 != UInt8(ascii: "\n") }
        guard !line.isEmpty else { throw MultiNetworkProtocolError("agent socket \(socketPath): empty answer") }
        do {
            return try JSONValue(parsing: line)
        } catch {
            throw MultiNetworkProtocolError("agent socket \(socketPath): the answer is not JSON: \(error)")
        }
    }
}

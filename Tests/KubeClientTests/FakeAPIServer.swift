import Foundation
import KubeModel
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import WeftNet

/// What the informer and watch tests need from a server besides the HTTP API: ways to provoke a compaction, a
/// dropped connection and a pause. The same tests can run against Weft's real API server through this protocol.
protocol ScriptableAPIServer: Sendable {
    /// The URL clients connect to.
    var url: String { get }
    /// Forget all history up to now: watches from an older resourceVersion get 410 Gone.
    func compact()
    /// Close every open watch connection abruptly.
    func dropWatches()
    /// Park new watch requests (unanswered) until `releaseWatches()`.
    func holdWatches()
    func releaseWatches()
}

/// A small, honest in-memory API server for one namespaced resource, on loopback, with SwiftNIO.
///
/// It keeps objects, a resourceVersion counter and the event history, and serves: list; watch (replay of the
/// history after a resourceVersion, then live events; synthetic ADDED events without one; 410 ERROR events for a
/// compacted resourceVersion; bookmarks; timeoutSeconds); get, create (409 AlreadyExists), update (409 Conflict on a
/// stale resourceVersion), the status subresource, JSON merge patch (other patch types: 415), delete. Label
/// selectors: `k=v` terms only. Scripted behaviour: how events are cut into chunks, dropped connections (also in the
/// middle of an event), failing and parked watches, stalled requests.
final class FakeAPIServer: ScriptableAPIServer, @unchecked Sendable {
    enum Chunking: Sendable {
        /// One chunk per event.
        case whole
        /// All events of one batch (e.g. a replay) cut into pieces of this many bytes, each its own chunk.
        case pieces(Int)
        /// All events of one batch in a single chunk.
        case coalesced
    }

    struct Request: Sendable {
        var method: String
        var path: String
        var query: [String: String]
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    let resource: ResourceInfo
    let port: Int
    let scheme: String
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let state = NIOLockedValueBox(State())

    private struct Watcher {
        var channel: any Channel
        var namespace: String?
        var bookmarks: Bool
        var labels: [String: String]
    }

    private struct State {
        var objects: [String: JSONValue] = [:]
        var resourceVersion = 100
        var history: [(rv: Int, type: String, object: JSONValue)] = []
        var compactedBefore = 0
        var watchers: [ObjectIdentifier: Watcher] = [:]
        var holding = false
        var held: [(any Channel, Request)] = []
        var failWatches = 0
        var truncateNextEvent = false
        var stallRequests = false
        var replayOverlap = 0
        var chunking = Chunking.whole
        var requests: [Request] = []
        var requiredToken: String?
        var nextUID = 1
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Starts the server on an ephemeral loopback port; `tls` makes it HTTPS.
    init(resource: ResourceInfo = Resources.configMap, tls: NIOSSLContext? = nil) async throws {
        self.resource = resource
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        scheme = tls == nil ? "http" : "https"
        let box = UnsafeServerBox()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(server: box))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
        box.server = self
    }

    func shutdown() async throws {
        dropWatches()
        try await channel.close()
        try await group.shutdownGracefully()
    }

    // MARK: - Scripting

    var requests: [Request] { state.withLockedValue { $0.requests } }
    var currentResourceVersion: Int { state.withLockedValue { $0.resourceVersion } }
    var openWatches: Int { state.withLockedValue { $0.watchers.count } }
    var heldWatches: Int { state.withLockedValue { $0.held.count } }

    func setChunking(_ c: Chunking) { state.withLockedValue { $0.chunking = c } }
    func failNextWatches(_ n: Int) { state.withLockedValue { $0.failWatches = n } }
    func truncateNextEvent() { state.withLockedValue { $0.truncateNextEvent = true } }
    func stallRequests(_ on: Bool) { state.withLockedValue { $0.stallRequests = on } }
    /// Misbehave: replay this many events the client has already seen when it resumes a watch.
    func replayOverlap(_ n: Int) { state.withLockedValue { $0.replayOverlap = n } }
    func requireToken(_ token: String?) { state.withLockedValue { $0.requiredToken = token } }

    func compact() { state.withLockedValue { $0.compactedBefore = $0.resourceVersion } }

    func dropWatches() {
        state.withLockedValue { s in
            for w in s.watchers.values { w.channel.close(promise: nil) }
            s.watchers = [:]
        }
    }

    /// Ends every open watch cleanly, as a server does when a watch's `timeoutSeconds` is up.
    func endWatches() {
        let channels = state.withLockedValue { $0.watchers.values.map(\.channel) }
        for channel in channels { endWatch(on: channel) }
    }

    private func endWatch(on channel: any Channel) {
        let open = state.withLockedValue { $0.watchers.removeValue(forKey: ObjectIdentifier(channel)) }
        if open != nil {
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    func holdWatches() { state.withLockedValue { $0.holding = true } }

    func releaseWatches() {
        let held = state.withLockedValue { s in
            s.holding = false
            defer { s.held = [] }
            return s.held
        }
        for (channel, request) in held { dispatch(request, on: channel) }
    }

    /// Sends a BOOKMARK with the current resourceVersion to every watcher that asked for bookmarks.
    func sendBookmark() {
        state.withLockedValue { s in
            let event = JSONValue.object([
                "type": .string("BOOKMARK"),
                "object": .object([
                    "kind": .string(resource.kind), "apiVersion": .string(resource.apiVersion),
                    "metadata": .object(["resourceVersion": .string(String(s.resourceVersion))]),
                ]),
            ])
            for w in s.watchers.values where w.bookmarks { send([event], to: w.channel, chunking: s.chunking) }
        }
    }

    /// Puts an object in place directly (as if created through the API).
    @discardableResult
    func seed(_ object: some Encodable) throws -> JSONValue {
        let value = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(object))
        return state.withLockedValue { s in store(value, type: "ADDED", &s) }
    }

    // MARK: - Requests

    fileprivate func handle(_ request: Request, on channel: any Channel) {
        let stalled = state.withLockedValue { s in
            s.requests.append(request)
            return s.stallRequests && request.query["watch"] != "true"
        }
        if !stalled { dispatch(request, on: channel) }
    }

    private func dispatch(_ original: Request, on channel: any Channel) {
        var request = original
        if let token = state.withLockedValue({ $0.requiredToken }),
            request.headers.first(name: "Authorization") != "Bearer \(token)"
        {
            return respond(channel, status(401, "Unauthorized", "bad or missing token"))
        }
        let base = resource.path(namespace: nil).split(separator: "/").dropLast().joined(separator: "/")
        var parts = request.path.split(separator: "/").map(String.init)
        guard parts.joined(separator: "/").hasPrefix(base) else {
            return respond(channel, status(404, "NotFound", "the server could not find the requested resource"))
        }
        parts.removeFirst(base.split(separator: "/").count)
        var namespace: String?
        if parts.count >= 2, parts[0] == "namespaces" {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard parts.first == resource.plural else {
            return respond(channel, status(404, "NotFound", "the server could not find the requested resource"))
        }
        parts.removeFirst()
        request.path = parts.joined(separator: "/")
        switch (request.method, parts.count) {
        case ("GET", 0) where request.query["watch"] == "true": watch(original, namespace: namespace, on: channel)
        case ("GET", 0): respond(channel, list(namespace: namespace, request.query))
        case ("POST", 0): respond(channel, create(namespace: namespace, request.body))
        case ("GET", 1): respond(channel, get(namespace: namespace, name: parts[0]))
        case ("PUT", 1),
            ("PUT", 2) where parts.last == "status":
            respond(channel, update(namespace: namespace, name: parts[0], status: parts.count == 2, request.body))
        case ("PATCH", 1):
            respond(channel, patch(namespace: namespace, name: parts[0], request))
        case ("DELETE", 1): respond(channel, delete(namespace: namespace, name: parts[0]))
        default: respond(channel, status(405, "MethodNotAllowed", "\(request.method) is not supported here"))
        }
    }

    private typealias Answer = (code: Int, body: JSONValue)

    private func status(_ code: Int, _ reason: String, _ message: String) -> Answer {
        (
            code,
            .object([
                "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]),
                "status": .string("Failure"), "message": .string(message), "reason": .string(reason),
                "code": .number(Double(code)),
            ])
        )
    }

    private static func key(_ namespace: String?, _ name: String) -> String { "\(namespace ?? "")/\(name)" }

    private static func matches(_ object: JSONValue, namespace: String?, labels: [String: String]) -> Bool {
        if let namespace, object["metadata"]?["namespace"]?.stringValue != namespace { return false }
        for (k, v) in labels where object["metadata"]?["labels"]?[k]?.stringValue != v { return false }
        return true
    }

    private static func labelTerms(_ selector: String?) -> [String: String] {
        var terms: [String: String] = [:]
        for term in (selector ?? "").split(separator: ",") {
            let kv = term.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { terms[kv[0]] = kv[1] }
        }
        return terms
    }

    /// Bumps the resourceVersion, stores (or removes, for DELETED) the object, records and broadcasts the event.
    private func store(_ object: JSONValue, type: String, _ s: inout State) -> JSONValue {
        var object = object
        s.resourceVersion += 1
        object["metadata"]?["resourceVersion"] = .string(String(s.resourceVersion))
        let meta = object["metadata"]
        let key = Self.key(meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? "")
        if type == "DELETED" { s.objects[key] = nil } else { s.objects[key] = object }
        s.history.append((s.resourceVersion, type, object))
        let event = JSONValue.object(["type": .string(type), "object": object])
        for (id, w) in s.watchers where Self.matches(object, namespace: w.namespace, labels: w.labels) {
            if s.truncateNextEvent {
                let bytes = Array(try! JSONEncoder().encode(event))
                let half = ByteBuffer(bytes: bytes.prefix(bytes.count / 2))
                let channel = w.channel
                channel.eventLoop.execute {
                    channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(half)), promise: nil)
                    channel.close(promise: nil)
                }
                s.watchers[id] = nil
            } else {
                send([event], to: w.channel, chunking: s.chunking)
            }
        }
        s.truncateNextEvent = false
        return object
    }

    private func list(namespace: String?, _ query: [String: String]) -> Answer {
        state.withLockedValue { s in
            let labels = Self.labelTerms(query["labelSelector"])
            let items = s.objects.sorted { $0.key < $1.key }.map(\.value).filter {
                Self.matches($0, namespace: namespace, labels: labels)
            }
            return (
                200,
                .object([
                    "kind": .string(resource.kind + "List"), "apiVersion": .string(resource.apiVersion),
                    "metadata": .object(["resourceVersion": .string(String(s.resourceVersion))]),
                    "items": .array(items),
                ])
            )
        }
    }

    private func get(namespace: String?, name: String) -> Answer {
        state.withLockedValue { s in
            if let object = s.objects[Self.key(namespace, name)] { return (200, object) }
            return status(404, "NotFound", "\(resource.plural) \"\(name)\" not found")
        }
    }

    private func create(namespace: String?, _ body: [UInt8]) -> Answer {
        guard var object = try? JSONDecoder().decode(JSONValue.self, from: Data(body)), object.objectValue != nil,
            let name = object["metadata"]?["name"]?.stringValue, !name.isEmpty
        else { return status(422, "Invalid", "metadata.name: Required value") }
        return state.withLockedValue { s in
            if s.objects[Self.key(namespace, name)] != nil {
                return status(409, "AlreadyExists", "\(resource.plural) \"\(name)\" already exists")
            }
            object["metadata"]?["namespace"] = namespace.map { .string($0) }
            object["metadata"]?["uid"] = .string("uid-\(s.nextUID)")
            s.nextUID += 1
            return (201, store(object, type: "ADDED", &s))
        }
    }

    private func update(namespace: String?, name: String, status onlyStatus: Bool, _ body: [UInt8]) -> Answer {
        guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else {
            return status(400, "BadRequest", "body is not JSON")
        }
        return state.withLockedValue { s in
            guard var current = s.objects[Self.key(namespace, name)] else {
                return status(404, "NotFound", "\(resource.plural) \"\(name)\" not found")
            }
            if let rv = object["metadata"]?["resourceVersion"]?.stringValue,
                rv != current["metadata"]?["resourceVersion"]?.stringValue
            {
                return status(
                    409, "Conflict",
                    "Operation cannot be fulfilled on \(resource.plural) \"\(name)\": the object has been modified")
            }
            if onlyStatus {
                current["status"] = object["status"]
            } else {
                var meta = object["metadata"] ?? .object([:])
                meta["uid"] = current["metadata"]?["uid"]
                meta["namespace"] = current["metadata"]?["namespace"]
                current = object
                current["metadata"] = meta
            }
            return (200, store(current, type: "MODIFIED", &s))
        }
    }

    private func patch(namespace: String?, name: String, _ request: Request) -> Answer {
        guard request.headers.first(name: "Content-Type") == "application/merge-patch+json" else {
            return status(415, "UnsupportedMediaType", "only merge patches are supported")
        }
        guard let patch = try? JSONDecoder().decode(JSONValue.self, from: Data(request.body)) else {
            return status(400, "BadRequest", "body is not JSON")
        }
        return state.withLockedValue { s in
            guard let current = s.objects[Self.key(namespace, name)] else {
                return status(404, "NotFound", "\(resource.plural) \"\(name)\" not found")
            }
            return (200, store(Self.mergePatch(current, patch), type: "MODIFIED", &s))
        }
    }

    /// RFC 7386.
    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var t = target.objectValue ?? [:]
        for (k, v) in p {
            if v == .null { t[k] = nil } else { t[k] = mergePatch(t[k] ?? .null, v) }
        }
        return .object(t)
    }

    private func delete(namespace: String?, name: String) -> Answer {
        state.withLockedValue { s in
            guard let current = s.objects[Self.key(namespace, name)] else {
                return status(404, "NotFound", "\(resource.plural) \"\(name)\" not found")
            }
            return (200, store(current, type: "DELETED", &s))
        }
    }

    private func watch(_ request: Request, namespace: String?, on channel: any Channel) {
        let parked = state.withLockedValue { s in
            if s.holding { s.held.append((channel, request)) }
            return s.holding
        }
        if parked { return }
        var failed = false
        state.withLockedValue { s in
            if s.failWatches > 0 {
                s.failWatches -= 1
                failed = true
            }
        }
        if failed { return respond(channel, status(500, "InternalError", "scripted watch failure")) }
        state.withLockedValue { s in
            let labels = Self.labelTerms(request.query["labelSelector"])
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Connection", value: "close")
            let part = HTTPServerResponsePart.head(head)
            channel.eventLoop.execute { channel.writeAndFlush(part, promise: nil) }
            var events: [JSONValue] = []
            if let rvText = request.query["resourceVersion"], let rv = Int(rvText), rv != 0 {
                if rv < s.compactedBefore {
                    let gone = status(410, "Expired", "too old resource version: \(rv) (\(s.compactedBefore))")
                    send([.object(["type": .string("ERROR"), "object": gone.body])], to: channel, chunking: .whole)
                    channel.eventLoop.execute {
                        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                            channel.close(promise: nil)
                        }
                    }
                    return
                }
                for e in s.history
                where e.rv > rv - s.replayOverlap && Self.matches(e.object, namespace: namespace, labels: labels) {
                    events.append(.object(["type": .string(e.type), "object": e.object]))
                }
            } else {
                for o in s.objects.sorted(by: { $0.key < $1.key }).map(\.value)
                where Self.matches(o, namespace: namespace, labels: labels) {
                    events.append(.object(["type": .string("ADDED"), "object": o]))
                }
            }
            if !events.isEmpty { send(events, to: channel, chunking: s.chunking) }
            s.watchers[ObjectIdentifier(channel)] = Watcher(
                channel: channel, namespace: namespace, bookmarks: request.query["allowWatchBookmarks"] == "true",
                labels: labels)
            if let seconds = request.query["timeoutSeconds"].flatMap(Int.init) {
                channel.eventLoop.scheduleTask(in: .seconds(Int64(seconds))) { [weak self] in
                    self?.endWatch(on: channel)
                }
            }
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLockedValue { _ = $0.watchers.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    // MARK: - Writing

    /// Writes events (one JSON document and a newline each) cut into chunks as scripted. Called with the lock held,
    /// and always through `execute`, so writes to one channel keep their order.
    private func send(_ events: [JSONValue], to channel: any Channel, chunking: Chunking) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var chunks: [[UInt8]] = []
        var all: [UInt8] = []
        for e in events {
            let line = Array(try! encoder.encode(e)) + [UInt8(ascii: "\n")]
            chunks.append(line)
            all += line
        }
        switch chunking {
        case .whole: break
        case .coalesced: chunks = [all]
        case .pieces(let n):
            chunks = stride(from: 0, to: all.count, by: n).map { Array(all[$0..<min($0 + n, all.count)]) }
        }
        let buffers = chunks.map { ByteBuffer(bytes: $0) }
        channel.eventLoop.execute {
            for b in buffers { channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(b)), promise: nil) }
        }
    }

    private func respond(_ channel: any Channel, _ answer: Answer) {
        let body = ByteBuffer(bytes: Array(try! JSONEncoder().encode(answer.body)))
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.code))
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        let headPart = HTTPServerResponsePart.head(head)
        channel.eventLoop.execute {
            channel.write(headPart, promise: nil)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        }
    }
}

/// Lets the channel initializer reach the server once it exists.
private final class UnsafeServerBox: @unchecked Sendable {
    weak var server: FakeAPIServer?
}

/// Collects one request and hands it to the server.
private final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: UnsafeServerBox
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(server: UnsafeServerBox) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let b): body += b.readableBytesView
        case .end:
            guard let head, let server = server.server else { return }
            let components = URLComponents(string: head.uri)
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            let request = FakeAPIServer.Request(
                method: head.method.rawValue, path: components?.path ?? head.uri, query: query, headers: head.headers,
                body: body)
            server.handle(request, on: context.channel)
        }
    }
}

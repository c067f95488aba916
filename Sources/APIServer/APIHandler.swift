import Foundation
import Hummingbird
import KubeModel
import Logging
import NIOCore
import WeftNet

/// The HTTP face of the server: authentication, routing of kube's URL scheme to the `Registry`, discovery, watch
/// streams, Tables, and errors as meta/v1 `Status` bodies.
struct APIHandler: HTTPResponder {
    typealias Context = APIRequestContext

    let registry: Registry
    /// nil: no authentication (tests only).
    let authenticator: TokenAuthenticator?
    let maxBodySize: Int
    let bookmarkInterval: Duration
    let defaultWatchTimeout: Duration
    let resources: [ResourceInfo]

    /// Paths answered without a token, as kube-apiserver's `system:public-info-viewer` role allows.
    static let publicPaths: Set<String> = ["/healthz", "/livez", "/readyz", "/version"]

    func respond(to request: Request, context: Context) async throws -> Response {
        do {
            return try await route(request, context)
        } catch let status as Status {
            return Self.statusResponse(status)
        } catch let error as ObjectStore.WatchStartError {
            return Self.statusResponse(Self.status(error))
        } catch {
            context.logger.error("request failed: \(request.method) \(request.uri.path): \(error)")
            return Self.statusResponse(.internalError(String(describing: error)))
        }
    }

    // MARK: Routing

    private func route(_ request: Request, _ context: Context) async throws -> Response {
        let path = request.uri.path
        let segments = path.split(separator: "/").map(String.init)
        let query = Self.parseQuery(request.uri.query)

        if Self.publicPaths.contains(path) || path.hasPrefix("/healthz/") || path.hasPrefix("/livez/")
            || path.hasPrefix("/readyz/")
        {
            guard request.method == .get || request.method == .head else {
                throw Status.methodNotAllowed(request.method.rawValue, path)
            }
            if path == "/version" { return Self.json(Discovery.version()) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
        }
        if let authenticator, authenticator.authenticate(authorization: request.headers[.authorization]) == nil {
            throw Status.unauthorized()
        }
        // Authorization: every authenticated user (admin, agent) may do everything for now.

        switch segments.first {
        case "api":
            if segments.count == 1 {
                try Self.requireGet(request)
                return Self.json(Discovery.coreVersions(serverAddress: request.head.authority ?? "127.0.0.1:6443"))
            }
            guard segments[1] == "v1" else { throw Status.resourceNotFound() }
            if segments.count == 2 {
                try Self.requireGet(request)
                return try Self.json(Discovery.resourceList(group: "", version: "v1", resources) ?? notFound())
            }
            return try await handleResource(
                request, context, group: "", version: "v1", rest: Array(segments[2...]), query)
        case "apis":
            try Self.requireGetIfShort(request, segments.count <= 3)
            switch segments.count {
            case 1: return Self.json(Discovery.groupList(resources))
            case 2: return try Self.json(Discovery.group(segments[1], resources) ?? notFound())
            case 3:
                return try Self.json(
                    Discovery.resourceList(group: segments[1], version: segments[2], resources) ?? notFound())
            default:
                return try await handleResource(
                    request, context, group: segments[1], version: segments[2], rest: Array(segments[3...]), query)
            }
        case "openapi":
            try Self.requireGet(request)
            return try OpenAPI.response(segments: segments, accept: request.headers[.accept], resources)
        default:
            throw Status.resourceNotFound()
        }
    }

    private func notFound() throws -> JSONValue { throw Status.resourceNotFound() }

    /// Where a resource URL points.
    struct Target {
        var resource: ResourceInfo
        var namespace: String?
        var name: String?
        var status: Bool
        /// The `/scale` subresource (`APIHandler+Scale`).
        var scale = false
    }

    func resolve(group: String, version: String, rest: [String]) throws -> Target {
        func find(_ plural: String) -> ResourceInfo? {
            resources.first { $0.group == group && $0.version == version && $0.plural == plural }
        }
        var target: Target
        var tail: ArraySlice<String>
        if rest.count >= 3, rest[0] == "namespaces", let resource = find(rest[2]), resource.namespaced {
            target = Target(resource: resource, namespace: rest[1], name: nil, status: false)
            tail = rest[3...]
        } else {
            guard let resource = find(rest[0]) else { throw Status.resourceNotFound() }
            target = Target(resource: resource, namespace: nil, name: nil, status: false)
            tail = rest[1...]
            // A namespaced object is only addressed inside its namespace.
            if resource.namespaced && !tail.isEmpty { throw Status.resourceNotFound() }
        }
        if let name = tail.first {
            target.name = name
            tail = tail.dropFirst()
        }
        if tail.first == "scale", ResourceRules.hasScale(target.resource), tail.count == 1 {
            target.scale = true
        } else if let subresource = tail.first {
            guard subresource == "status", ResourceRules.hasStatus(target.resource), tail.count == 1 else {
                throw Status.resourceNotFound()
            }
            target.status = true
        }
        return target
    }

    private func handleResource(
        _ request: Request, _ context: Context, group: String, version: String, rest: [String],
        _ query: [String: String]
    ) async throws -> Response {
        let target = try resolve(group: group, version: version, rest: rest)
        let resource = target.resource
        let namespace = target.namespace
        let method = request.method
        let wantsTable = TableConverter.wantsTable(request.headers[.accept])
        if method != .get, let dryRun = query["dryRun"], !dryRun.isEmpty {
            throw Status.badRequest("dryRun is not supported by this server")
        }

        guard let name = target.name else {
            switch method {
            case .get:
                let filter = try Self.filter(resource, query)
                if Self.parseBool(query["watch"]) {
                    return try await watch(
                        resource, namespace: namespace, filter: filter, query, table: wantsTable,
                        connection: try? await context.channel.pipeline.handler(type: ConnectionCloseHandler.self).get()
                    )
                }
                let list = try await registry.list(
                    resource, namespace: namespace, filter: filter, options: try ListOptions(query: query))
                if wantsTable {
                    var table = TableConverter.table(
                        resource, objects: list["items"]?.arrayValue ?? [],
                        resourceVersion: list["metadata"]?["resourceVersion"]?.stringValue)
                    table["metadata"] = list["metadata"]
                    return Self.json(table, contentType: TableConverter.contentType)
                }
                return Self.json(list)
            case .post:
                if resource.namespaced && namespace == nil {
                    throw Status.methodNotAllowed(method.rawValue, request.uri.path)
                }
                let body = try await Self.readJSON(request, limit: maxBodySize)
                return Self.json(try await registry.create(resource, namespace: namespace, body: body), code: 201)
            case .delete:
                let filter = try Self.filter(resource, query)
                return Self.json(try await registry.deleteCollection(resource, namespace: namespace, filter: filter))
            default:
                throw Status.methodNotAllowed(method.rawValue, request.uri.path)
            }
        }

        if target.scale { return try await scale(request, resource, namespace: namespace, name: name) }
        switch method {
        case .get:
            let object = try await registry.get(resource, namespace: namespace, name: name)
            if wantsTable {
                return Self.json(
                    TableConverter.table(
                        resource, objects: [object], resourceVersion: object.metadataString("resourceVersion")),
                    contentType: TableConverter.contentType)
            }
            return Self.json(object)
        case .put:
            let body = try await Self.readJSON(request, limit: maxBodySize)
            return Self.json(
                try await registry.update(resource, namespace: namespace, name: name, body: body, status: target.status)
            )
        case .patch:
            let contentType = (request.headers[.contentType] ?? "").split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            guard let contentType, let kind = Patching.Kind(rawValue: contentType) else {
                throw Status.unsupportedMediaType(
                    request.headers[.contentType] ?? "",
                    accepted: Patching.Kind.allCases.map(\.rawValue))
            }
            let body = try await Self.readJSON(request, limit: maxBodySize, checkContentType: false)
            return Self.json(
                try await registry.patch(
                    resource, namespace: namespace, name: name, kind: kind, patch: body, status: target.status))
        case .delete:
            guard !target.status else { throw Status.methodNotAllowed(method.rawValue, request.uri.path) }
            let body = try await Self.readBody(request, limit: maxBodySize)
            var options: JSONValue? = body.readableBytes == 0 ? nil : try JSONCoding.decode(body.readableBytesView)
            if let seconds = query["gracePeriodSeconds"].flatMap(Int64.init) {
                if options == nil { options = .object([:]) }
                options?["gracePeriodSeconds"] = .number(Double(seconds))
            }
            return Self.json(try await registry.delete(resource, namespace: namespace, name: name, options: options))
        default:
            throw Status.methodNotAllowed(method.rawValue, request.uri.path)
        }
    }

    // MARK: Watch

    /// A watch stream: newline-delimited `{"type": …, "object": …}` events, with bookmarks and a timeout. It ends
    /// as soon as the client closes its connection (`connection`), not only at the next write that fails.
    private func watch(
        _ resource: ResourceInfo, namespace: String?, filter: ObjectFilter, _ query: [String: String], table: Bool,
        connection: ConnectionCloseHandler?
    ) async throws -> Response {
        let from: Int64?
        switch query["resourceVersion"] ?? "" {
        case "", "0": from = nil
        case let text:
            guard let value = Int64(text) else { throw Status.badRequest("invalid resource version: \(text)") }
            from = value
        }
        let bookmarks = Self.parseBool(query["allowWatchBookmarks"])
        let timeout: Duration =
            if let text = query["timeoutSeconds"], let seconds = Int(text), seconds > 0 {
                .seconds(seconds)
            } else {
                defaultWatchTimeout
            }
        let bookmarkInterval = bookmarkInterval
        let store = registry.store

        let subscription: ObjectStore.Subscription
        do {
            subscription = try await store.watch(resource, namespace: namespace, from: from)
        } catch ObjectStore.WatchStartError.expired(let requested, let oldest) {
            // kube answers 200 and then one ERROR event carrying 410 Gone.
            let status = Status.expired(requested: requested, oldest: oldest)
            let line = Self.eventLine(type: "ERROR", object: Self.statusJSON(status))
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: line)))
        }

        let body = ResponseBody { writer in
            var lastRV = from ?? subscription.startResourceVersion
            var first = true
            func line(_ type: String, _ object: JSONValue) -> ByteBuffer {
                var payload = object
                if table {
                    payload = TableConverter.table(
                        resource, objects: [object], resourceVersion: object.metadataString("resourceVersion"),
                        headers: first)
                    first = false
                }
                return ByteBuffer(bytes: Self.eventLine(type: type, object: payload))
            }
            for event in subscription.initial {
                if let (type, object) = Self.translate(event, filter) { try await writer.write(line(type, object)) }
                lastRV = max(lastRV, event.resourceVersion)
            }
            enum Item: Sendable {
                case event(ObjectStore.Event)
                case bookmark
                case end
            }
            let (items, continuation) = AsyncStream.makeStream(of: Item.self)
            connection?.onClose { continuation.yield(.end) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in subscription.stream { continuation.yield(.event(event)) }
                    continuation.yield(.end)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    continuation.yield(.end)
                }

                if bookmarks {
                    group.addTask {
                        while true {
                            try await Task.sleep(for: bookmarkInterval)
                            continuation.yield(.bookmark)
                        }
                    }
                }
                loop: for await item in items {
                    switch item {
                    case .event(let event):
                        lastRV = max(lastRV, event.resourceVersion)
                        if let (type, object) = Self.translate(event, filter) {
                            try await writer.write(line(type, object))
                        }
                    case .bookmark:
                        let object: JSONValue = .object([
                            "kind": .string(resource.kind), "apiVersion": .string(resource.apiVersion),
                            "metadata": .object(["resourceVersion": .string(String(lastRV))]),
                        ])
                        try await writer.write(ByteBuffer(bytes: Self.eventLine(type: "BOOKMARK", object: object)))
                    case .end:
                        break loop
                    }
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    /// What a watcher with selectors sees of an event: objects moving out of the selection are DELETED, objects
    /// moving in are ADDED, as kube-apiserver's watch cache does.
    static func translate(_ event: ObjectStore.Event, _ filter: ObjectFilter) -> (String, JSONValue)? {
        switch event.kind {
        case .added:
            return filter.matches(event.object) ? ("ADDED", event.object) : nil
        case .deleted:
            return filter.matches(event.oldObject ?? event.object) ? ("DELETED", event.object) : nil
        case .modified:
            let was = event.oldObject.map(filter.matches) ?? false
            let now = filter.matches(event.object)
            switch (was, now) {
            case (true, true): return ("MODIFIED", event.object)
            case (false, true): return ("ADDED", event.object)
            case (true, false): return ("DELETED", event.object)
            case (false, false): return nil
            }
        }
    }

    static func eventLine(type: String, object: JSONValue) -> Data {
        var data = JSONCoding.encode(JSONValue.object(["type": .string(type), "object": object]))
        data.append(UInt8(ascii: "\n"))
        return data
    }

    // MARK: Helpers

    static func filter(_ resource: ResourceInfo, _ query: [String: String]) throws -> ObjectFilter {
        var filter = ObjectFilter()
        do {
            if let text = query["labelSelector"] { filter.labels = try SelectorParsing.parseLabelSelector(text) }
            if let text = query["fieldSelector"] { filter.fields = try SelectorParsing.parseFieldSelector(text) }
        } catch {
            throw Status.badRequest(error.message)
        }
        let supported = SelectorParsing.supportedFields(resource)
        for requirement in filter.fields.requirements where !supported.contains(requirement.key) {
            throw Status.badRequest(
                "field label not supported: \(requirement.key)")
        }
        return filter
    }

    static func readBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw Status.requestEntityTooLarge(limit: limit)
        }
    }

    static func readJSON(_ request: Request, limit: Int, checkContentType: Bool = true) async throws -> JSONValue {
        if checkContentType, let contentType = request.headers[.contentType] {
            let mediaType = contentType.split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            if mediaType == ProtobufBody.mediaType {
                return try ProtobufBody.json(Array(try await readBody(request, limit: limit).readableBytesView))
            }
            if mediaType != "application/json" && mediaType != "*/*" && mediaType != "" {
                throw Status.unsupportedMediaType(contentType, accepted: ["application/json", ProtobufBody.mediaType])
            }
        }
        let buffer = try await readBody(request, limit: limit)
        return try JSONCoding.decode(buffer.readableBytesView)
    }

    /// Query parameters, decoded as Go's `url.ParseQuery` does (`+` is a space).
    static func parseQuery(_ query: String?) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let key = decode(parts[0])
            if result[key] == nil { result[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return result
    }

    private static func requireGet(_ request: Request) throws {
        guard request.method == .get || request.method == .head else {
            throw Status.methodNotAllowed(request.method.rawValue, request.uri.path)
        }
    }

    private static func requireGetIfShort(_ request: Request, _ isDiscovery: Bool) throws {
        if isDiscovery { try requireGet(request) }
    }

    static func json(_ value: JSONValue, code: Int = 200, contentType: String = "application/json") -> Response {
        Response(
            status: HTTPResponse.Status(code: code), headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONCoding.encode(value))))
    }

    static func statusJSON(_ status: Status) -> JSONValue {
        (try? JSONValue(encoding: status)) ?? .object([:])
    }

    static func statusResponse(_ status: Status) -> Response {
        Response(
            status: HTTPResponse.Status(code: status.code ?? 500), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONCoding.encode(status))))
    }

    static func status(_ error: ObjectStore.WatchStartError) -> Status {
        switch error {
        case .expired(let requested, let oldest): .expired(requested: requested, oldest: oldest)
        case .tooLarge(let requested, let current): .tooLargeResourceVersion(requested: requested, current: current)
        }
    }
}

extension APIHandler {
    /// Boolean query parameters as kube-apiserver reads them (Go's strconv.ParseBool): clients send `true`, `1` or,
    /// like older Python clients, `True`.
    static func parseBool(_ value: String?) -> Bool {
        ["1", "t", "T", "true", "TRUE", "True"].contains(value ?? "")
    }
}

/// The request context: Hummingbird's basics plus the connection, whose closing ends a watch.
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

import AsyncHTTPClient
import KubeModel
import NIOCore
import NIOHTTP1
import WeftNet

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One item of a watch stream as the informer needs it: bookmarks keep their resourceVersion even when their
/// (mostly empty) object does not decode as `T`.
enum WatchItem<T: KubeObject>: Sendable {
    case event(WatchEvent<T>.EventType, T)
    case bookmark(resourceVersion: String?, object: T?)

    var resourceVersion: String? {
        switch self {
        case .event(_, let object): object.metadata.resourceVersion
        case .bookmark(let rv, _): rv
        }
    }
}

extension KubeClient {
    /// Opens a watch of a collection from `resourceVersion` (`nil`: from now, after synthetic ADDED events for
    /// what exists) and returns its events once the server has accepted it.
    ///
    /// Throws `KubeAPIError` for a non-2xx answer (`WatchError.expired` for 410). The stream ends when the server
    /// closes the watch (e.g. after `timeoutSeconds`); it fails with `WatchError.expired` on an ERROR event with 410
    /// Gone (the resourceVersion is too old), `WatchError.failed` on other ERROR events, `WatchError.malformedEvent`
    /// when the stream breaks off inside an event, or the transport's error. Cancelling the consuming task, or
    /// dropping the stream, closes the connection. Bookmarks whose object does not decode as `T` are skipped (the
    /// `Informer` still uses their resourceVersion).
    public func watch<T: KubeObject>(
        _ type: T.Type, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        resourceVersion: String? = nil, allowBookmarks: Bool = true, timeoutSeconds: Int? = nil
    ) async throws -> AsyncThrowingStream<WatchEvent<T>, Error> {
        let items = try await watchItems(
            T.self, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
            resourceVersion: resourceVersion, allowBookmarks: allowBookmarks, timeoutSeconds: timeoutSeconds)
        let box = UncheckedBox(items.makeAsyncIterator())
        return AsyncThrowingStream(unfolding: {
            while let item = try await box.value.next() {
                switch item {
                case .event(let type, let object): return WatchEvent(type: type, object: object)
                case .bookmark(_, let object?): return WatchEvent(type: .bookmark, object: object)
                case .bookmark(_, nil): continue
                }
            }
            return nil
        })
    }

    func watchItems<T: KubeObject>(
        _ type: T.Type, namespace: String?, labelSelector: String?, fieldSelector: String?,
        resourceVersion: String?, allowBookmarks: Bool, timeoutSeconds: Int?
    ) async throws -> AsyncThrowingStream<WatchItem<T>, Error> {
        let path = T.resource.path(namespace: T.resource.namespaced ? namespace : nil)
        var query: [(String, String)] = [("watch", "true")]
        query += Self.selectors(labelSelector, fieldSelector)
        if let resourceVersion, !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let timeoutSeconds { query.append(("timeoutSeconds", String(timeoutSeconds))) }
        let reader = try await WatchReader.open(client: self, path: path, query: query)
        let decoder = JSONValueDecoder()
        return AsyncThrowingStream(unfolding: {
            guard let frame = try await reader.next() else { return nil }
            let raw: RawWatchEvent<T>
            do {
                raw = try decoder.decode(RawWatchEvent<T>.self, from: JSONValue(parsing: frame))
            } catch {
                let text = String(decoding: frame.prefix(200), as: UTF8.self)
                throw WatchError.malformedEvent("\(error) in \(text)")
            }
            switch raw {
            case .item(let item): return item
            case .error(let status):
                if status.code == 410 || status.reason == "Expired" || status.reason == "Gone" {
                    throw WatchError.expired(status)
                }
                throw WatchError.failed(status)
            }
        })
    }
}

/// A mutable value handed to `AsyncThrowingStream(unfolding:)`, whose closure runs one call at a time.
final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Reads a watch response and cuts it into one JSON frame per event. Used by one consumer at a time.
final class WatchReader: @unchecked Sendable {
    private var body: HTTPClientResponse.Body.AsyncIterator
    private var framer = JSONFramer()
    private var pending: [[UInt8]] = []
    private var next = 0
    private var done = false

    private init(body: HTTPClientResponse.Body.AsyncIterator) {
        self.body = body
    }

    func next() async throws -> [UInt8]? {
        while next == pending.count {
            pending.removeAll(keepingCapacity: true)
            next = 0
            if done { return nil }
            guard let chunk = try await body.next() else {
                done = true
                if framer.hasPartialFrame { throw WatchError.malformedEvent("the stream ended inside an event") }
                return nil
            }
            pending = try framer.append(chunk.readableBytesView)
        }
        defer { next += 1 }
        return pending[next]
    }

    /// Sends the watch request; returns once the server has answered 2xx.
    static func open(client: KubeClient, path: String, query: [(String, String)]) async throws -> WatchReader {
        let request = try client.makeRequest(.GET, path, query: query, body: nil, contentType: nil)
        let timeout = client.configuration.requestTimeout
        let response: HTTPClientResponse
        do {
            response = try await client.http.execute(request, timeout: TimeAmount(timeout))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw KubeClientError.timeout(method: "GET", path: path, after: timeout)
        }
        let code = Int(response.status.code)
        guard (200..<300).contains(code) else {
            let body = try await response.body.collect(upTo: 1 << 20)
            let error = KubeClient.apiError(
                status: code, body: body, method: "GET", path: path + KubeClient.queryString(query))
            if code == 410 { throw WatchError.expired(error.status) }
            throw error
        }
        return WatchReader(body: response.body.makeAsyncIterator())
    }
}

/// `{"type": …, "object": …}` decoded according to its type.
enum RawWatchEvent<T: KubeObject>: Decodable {
    case item(WatchItem<T>)
    case error(Status)

    private enum CodingKeys: String, CodingKey { case type, object }

    private struct BookmarkObject: Decodable {
        struct Meta: Decodable { var resourceVersion: String? }
        var metadata: Meta?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "ADDED": self = .item(.event(.added, try c.decode(T.self, forKey: .object)))
        case "MODIFIED": self = .item(.event(.modified, try c.decode(T.self, forKey: .object)))
        case "DELETED": self = .item(.event(.deleted, try c.decode(T.self, forKey: .object)))
        case "BOOKMARK":
            let rv = try c.decode(BookmarkObject.self, forKey: .object).metadata?.resourceVersion
            self = .item(.bookmark(resourceVersion: rv, object: try? c.decode(T.self, forKey: .object)))
        case "ERROR": self = .error(try c.decode(Status.self, forKey: .object))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown event type '\(type)'")
        }
    }
}

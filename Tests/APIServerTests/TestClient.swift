import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import WeftNet

/// A minimal HTTP/1.1 client over NIO for the tests: one connection per request, TLS verified against the server's
/// CA, optional bearer token.
struct TestClient: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        /// The body parsed as JSON (`.null` when it is not JSON).
        var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: body)) ?? .null }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct TimedOut: Error {}

    var host = "127.0.0.1"
    var port: Int
    var caPEM: String?
    var token: String?

    /// Sends one request and reads the whole response.
    func request(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json",
        headers extra: [(String, String)] = []
    ) async throws -> Response {
        try await exchange(method, path, body: body, contentType: contentType, headers: extra) { _ in false }
    }

    /// Convenience for JSON bodies given as text.
    func request(
        _ method: HTTPMethod, _ path: String, json: String, contentType: String = "application/json"
    ) async throws -> Response {
        try await request(method, path, body: Data(json.utf8), contentType: contentType)
    }

    /// Reads a streaming response (a watch) line by line until `done` returns true for the lines so far, the
    /// server ends the stream, or `timeout` passes (then throws `TimedOut`). Returns the lines read.
    func watch(
        _ path: String, timeout: Duration = .seconds(30), headers: [(String, String)] = [],
        until done: @escaping @Sendable ([String]) -> Bool
    ) async throws -> (status: Int, lines: [String]) {
        try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            group.addTask {
                let response = try await exchange(.GET, path, body: nil, contentType: nil, headers: headers) { data in
                    done(Self.lines(data))
                }
                return (response.status, Self.lines(response.body))
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TimedOut()
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }

    static func lines(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    private func exchange(
        _ method: HTTPMethod, _ path: String, body: Data?, contentType: String?, headers extra: [(String, String)],
        stopWhen: @escaping @Sendable (Data) -> Bool
    ) async throws -> Response {
        let sslContext = try caPEM.map { pem in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
            return try NIOSSLContext(configuration: configuration)
        }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: sslContext, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: "\(host):\(port)")
            head.headers.add(name: "Connection", value: "close")
            if let token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let body {
                head.headers.add(name: "Content-Length", value: String(body.count))
                if let contentType { head.headers.add(name: "Content-Type", value: contentType) }
            }
            for (name, value) in extra { head.headers.add(name: name, value: value) }
            try await outbound.write(.head(head))
            if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var response = Response(status: 0, headers: [:], body: Data())
            for try await part in inbound {
                switch part {
                case .head(let head):
                    response.status = Int(head.status.code)
                    response.headers = head.headers
                case .body(let buffer):
                    response.body.append(contentsOf: buffer.readableBytesView)
                    if stopWhen(response.body) { return response }
                case .end:
                    return response
                }
            }
            return response
        }
    }
}

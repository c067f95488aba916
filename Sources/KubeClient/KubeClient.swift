import AsyncHTTPClient
import KubeModel
import NIOCore
import NIOHTTP1
import NIOSSL
import WeftNet

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A client of one Kubernetes API server (kube-apiserver or Weft's own): typed and untyped REST calls, watches.
///
/// Owns an `HTTPClient`; call `shutdown()` when done, or use `withClient(_:_:)`. Safe to share between tasks.
///
/// Namespaces: calls on one object (`get`, `create`, …) use the given namespace, else the object's own, else the
/// configuration's; collection calls (`list`, `watch`) with `namespace: nil` span all namespaces.
public final class KubeClient: Sendable {
    public let configuration: ClientConfiguration
    let http: HTTPClient
    /// Scheme + authority the requests go to (the TLS server name when one is configured).
    let baseURL: String
    let tokens: TokenSource
    /// Largest response body accepted for non-watch requests.
    static let maxBodyBytes = 256 << 20
    /// How many connections to the server may be open at once (each watch holds one).
    static let maxConnectionsPerHost = 1024

    /// Creates a client; TLS is configured from the configuration (its CA as the only trust root, client
    /// certificate and key, or no verification at all).
    public init(
        configuration: ClientConfiguration, eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup
    )
        throws
    {
        self.configuration = configuration
        guard let endpoint = ServerEndpoint(configuration.server) else {
            throw KubeClientError.invalidServer(configuration.server)
        }
        var httpConfig = HTTPClient.Configuration(
            tlsConfiguration: endpoint.tls ? try Self.tlsConfiguration(configuration) : nil,
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: nil),
            decompression: .disabled)
        // Every open watch holds an HTTP/1.1 connection for its whole life: with the pool's default limit (8) the
        // ninth concurrent watch, and every request after it, would queue until a watch ends.
        httpConfig.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: Self.maxConnectionsPerHost)
        if endpoint.tls, let name = configuration.tlsServerName, !name.isEmpty, name != endpoint.host {
            // Verify (and send as SNI) the TLS server name while connecting to the configured host.
            httpConfig.dnsOverride = [name: endpoint.host]
            baseURL = "https://\(name):\(endpoint.port)"
        } else {
            baseURL = configuration.server
        }
        http = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: httpConfig)
        tokens = TokenSource(configuration.credentials)
    }

    /// Runs `body` with a client and shuts the client down afterwards, also when `body` throws.
    public static func withClient<R: Sendable>(
        _ configuration: ClientConfiguration, _ body: (KubeClient) async throws -> R
    ) async throws -> R {
        let client = try KubeClient(configuration: configuration)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Closes connections; in-flight requests fail.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    static func tlsConfiguration(_ config: ClientConfiguration) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        // Closing a connection waits this long for the server's close_notify. A server streaming a watch does not
        // read (HTTP/1 servers stop reading while a response is in flight), so it never answers; Go's clients do not
        // wait at all. NIOSSL's default of 5 s made every cancelled watch and every shutdown take 5 s.
        tls.shutdownTimeout = .milliseconds(100)
        if config.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        }
        if let ca = config.certificateAuthorityPEM {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            } catch {
                throw KubeClientError.invalidTLSMaterial(
                    field: "certificate-authority", reason: "not a PEM certificate: \(error)")
            }
        }
        if let cert = config.clientCertificatePEM, let key = config.clientKeyPEM {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
            } catch {
                throw KubeClientError.invalidTLSMaterial(
                    field: "client-certificate", reason: "not a PEM certificate: \(error)")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            } catch {
                throw KubeClientError.invalidTLSMaterial(field: "client-key", reason: "not a PEM private key: \(error)")
            }
        }
        return tls
    }

    // MARK: - Requests

    /// A fully received response.
    struct Response: Sendable {
        var status: Int
        var body: ByteBuffer
    }

    func makeRequest(
        _ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?, contentType: String?
    ) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if let token = try tokens.token() {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// Sends a request and reads the whole answer within `configuration.requestTimeout`; non-2xx answers throw
    /// `KubeAPIError`.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
        contentType: String? = nil
    ) async throws -> Response {
        let request = try makeRequest(method, path, query: query, body: body, contentType: contentType)
        let timeout = configuration.requestTimeout
        let http = self.http
        let response = try await withThrowingTaskGroup(of: Response?.self) { group in
            group.addTask {
                do {
                    let response = try await http.execute(request, timeout: TimeAmount(timeout))
                    let body = try await response.body.collect(upTo: Self.maxBodyBytes)
                    return Response(status: Int(response.status.code), body: body)
                } catch let error as HTTPClientError where error == .deadlineExceeded {
                    return nil
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw KubeClientError.timeout(method: method.rawValue, path: path, after: timeout)
            }
            return response
        }
        guard (200..<300).contains(response.status) else {
            throw Self.apiError(status: response.status, body: response.body, method: method.rawValue, path: path)
        }
        return response
    }

    static func apiError(status code: Int, body: ByteBuffer, method: String, path: String) -> KubeAPIError {
        var status: Status
        if let decoded = try? JSONDecoder().decode(Status.self, from: Data(body.readableBytesView)),
            decoded.kind == "Status"
        {
            status = decoded
        } else {
            let text = String(decoding: body.readableBytesView.prefix(1024), as: UTF8.self)
            status = Status(
                code: code, reason: HTTPResponseStatus(statusCode: code).reasonPhrase,
                message: text.isEmpty ? "HTTP \(code)" : text)
        }
        if status.code == nil { status.code = code }
        return KubeAPIError(httpStatus: code, status: status, method: method, path: path)
    }

    func decode<R: Decodable>(_ type: R.Type, _ response: Response, _ method: HTTPMethod, _ path: String) throws -> R {
        do {
            return try JSONValueDecoder().decode(R.self, from: JSONValue(parsing: response.body.readableBytesView))
        } catch {
            throw KubeClientError.undecodableResponse(method: method.rawValue, path: path, reason: "\(error)")
        }
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }

    /// `?a=b&c=d` with each part percent-encoded, or "" for no parameters.
    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        return "?" + query.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Scheme, host and port of a server URL.
struct ServerEndpoint: Sendable {
    var tls: Bool
    var host: String
    var port: Int

    init?(_ url: String) {
        let rest: Substring
        if url.hasPrefix("https://") {
            tls = true
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            tls = false
            rest = url.dropFirst(7)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" }
        var hostPart = Substring(authority)
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return nil }
        host = String(hostPart)
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            port = tls ? 443 : 80
        }
    }
}

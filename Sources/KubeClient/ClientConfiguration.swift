/// Everything a `KubeClient` needs to reach one API server: resolved from a kubeconfig context
/// (`KubeConfig.clientConfiguration(context:)`), from the pod's service account (`inCluster(...)`), or built directly.
///
/// Certificates and keys are held as PEM bytes, already read from their files.
public struct ClientConfiguration: Sendable, Hashable {
    /// How requests authenticate.
    public enum Credentials: Sendable, Hashable {
        case none
        /// `Authorization: Bearer <token>`.
        case token(String)
        /// A bearer token read from a file, re-read at most once a minute (service-account tokens rotate).
        case tokenFile(String)
    }

    /// Base URL of the server, without a trailing slash (`https://127.0.0.1:6443`).
    public var server: String
    /// The only CA trusted for the server's certificate; `nil` trusts the system roots.
    public var certificateAuthorityPEM: [UInt8]?
    /// Client certificate (chain) for mutual TLS.
    public var clientCertificatePEM: [UInt8]?
    /// Private key of `clientCertificatePEM`.
    public var clientKeyPEM: [UInt8]?
    public var credentials: Credentials
    /// Do not verify the server's certificate at all.
    public var insecureSkipTLSVerify: Bool
    /// The name to verify the server certificate against (and send as SNI) instead of the URL's host.
    public var tlsServerName: String?
    /// The namespace used when a call names none (the context's, or `default`).
    public var namespace: String
    /// Upper bound for one request, including reading its body (watches: until the response head only).
    public var requestTimeout: Duration
    public var userAgent: String

    public init(
        server: String,
        certificateAuthorityPEM: [UInt8]? = nil,
        clientCertificatePEM: [UInt8]? = nil,
        clientKeyPEM: [UInt8]? = nil,
        credentials: Credentials = .none,
        insecureSkipTLSVerify: Bool = false,
        tlsServerName: String? = nil,
        namespace: String = "default",
        requestTimeout: Duration = .seconds(30),
        userAgent: String = "weft/0.1"
    ) {
        var server = server
        while server.hasSuffix("/") { server.removeLast() }
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.credentials = credentials
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.namespace = namespace
        self.requestTimeout = requestTimeout
        self.userAgent = userAgent
    }
}

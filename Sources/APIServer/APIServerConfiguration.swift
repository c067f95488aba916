/// How to run an `APIServer`.
public struct APIServerConfiguration: Sendable {
    /// Where the server keeps `state.db`, `pki/`, `tokens.csv` and `kubeconfig`. Created if missing.
    public var dataDir: String
    /// Address to listen on; loopback by default.
    public var host: String
    /// Port to listen on; 0 picks an ephemeral port (see `APIServer.start()` for the one bound).
    public var port: Int
    /// Extra names and addresses for the serving certificate (beyond `localhost`, `127.0.0.1`, `::1`).
    public var subjectAlternativeNames: [String]
    /// Serve HTTPS (the default). Plain HTTP is for tests.
    public var tls: Bool
    /// Require a bearer token from `tokens.csv` (the default). Off is for tests.
    public var authentication: Bool
    /// Largest request body accepted (413 beyond).
    public var maxBodySize: Int
    /// How many recent events watches can resume from (older resourceVersions get 410 Gone).
    public var watchHistory: Int
    /// How often a watch with `allowWatchBookmarks` gets a BOOKMARK.
    public var bookmarkInterval: Duration
    /// How long a watch without `timeoutSeconds` lasts.
    public var defaultWatchTimeout: Duration
    /// The ranges Service cluster IPs come from, at most one per family; the first one's family is the default
    /// (kube-apiserver's `--service-cluster-ip-range`).
    public var serviceCIDRs: [String] = ["10.96.0.0/12", "fd00:10:96::/108"]
    /// The ports NodePort and LoadBalancer Services get node ports from (`--service-node-port-range`).
    public var nodePortRange: ClosedRange<Int> = 30000...32767
    /// The ranges Node pod CIDRs are carved from, at most one per family (kube-controller-manager's `--cluster-cidr`).
    public var clusterCIDRs: [String] = ["10.244.0.0/16", "fd00:10:244::/56"]
    /// The prefix length of each Node's IPv4 pod CIDR (`--node-cidr-mask-size-ipv4`).
    public var nodeCIDRMaskSizeIPv4: Int = 24
    /// The prefix length of each Node's IPv6 pod CIDR (`--node-cidr-mask-size-ipv6`).
    public var nodeCIDRMaskSizeIPv6: Int = 64
    /// Run the built-in controllers (EndpointSlices, the scheduler, Deployments, DaemonSets) with the server.
    public var controllers: Bool = true
    /// The address the `kubernetes` Service's endpoint points at (kube-apiserver's `--advertise-address`); nil:
    /// the listen address, or 127.0.0.1 when listening on every address.
    public var advertiseAddress: String?
    /// Deleting a pod bound to a node only marks it (`deletionTimestamp`, `deletionGracePeriodSeconds`) so that the
    /// node's kubelet can stop its containers and then delete it, as kube-apiserver does. Off by default: with no
    /// kubelet (a bare `weft apiserver`) such pods would stay Terminating forever; the lab turns it on.
    public var gracefulPodDeletion = false
    /// How long an Event is kept after it last happened (kube-apiserver's `--event-ttl`).
    public var eventTTL: Duration = .seconds(3600)

    public init(
        dataDir: String, host: String = "127.0.0.1", port: Int = 6443, subjectAlternativeNames: [String] = [],
        tls: Bool = true, authentication: Bool = true, maxBodySize: Int = 3 * 1024 * 1024, watchHistory: Int = 4096,
        bookmarkInterval: Duration = .seconds(60), defaultWatchTimeout: Duration = .seconds(1800)
    ) {
        self.dataDir = dataDir
        self.host = host
        self.port = port
        self.subjectAlternativeNames = subjectAlternativeNames
        self.tls = tls
        self.authentication = authentication
        self.maxBodySize = maxBodySize
        self.watchHistory = watchHistory
        self.bookmarkInterval = bookmarkInterval
        self.defaultWatchTimeout = defaultWatchTimeout
    }

    /// Parses `host:port` (`127.0.0.1:6443`, `[::1]:6443`, `:6443` for all addresses).
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw APIServerError.invalidListenAddress(text) }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }
}

import NFTables
import WeftNet

/// The service proxy's nftables state: table `inet weft-proxy` with a small fixed chain graph, and everything that
/// grows with services and endpoints in sets and maps (issue 5's design; `../shared/notes/nftables.md` measured
/// why: kube-proxy's chain per service and per endpoint takes 84 s to load at 10,000 services, maps 1.6 s).
///
/// Dispatch: a new connection to a frontend (`daddr . l4proto . dport`: a cluster IP, external IP,
/// load-balancer IP or node address with its port) that is in `frontendsF-B` picks bucket
/// `numgen random mod B` and is DNATed to the endpoint `backendsF-B` maps that bucket to; `B` is the frontend's
/// bucket count (`BucketTable`), one rule per count. A frontend without usable endpoints is rejected at once
/// (`no-endpointsF`), or dropped when its endpoints are all on other nodes under a `Local` policy
/// (`drop-frontendsF`); any other port of a cluster IP is rejected (`cluster-ipsF`). Masquerade: external
/// frontends under `externalTrafficPolicy: Cluster` (`masq-frontendsF`), cluster IPs reached from outside the
/// pod network, and hairpin (a pod reaching itself: `hairpinF` holds `e . e` for every endpoint `e`).
public struct ProxyRuleset: Sendable {
    public static let table = "weft-proxy"
    /// The packet mark bit that asks for masquerade (kube-proxy's).
    public static let masqueradeMark = "0x00004000"
    /// The bucket counts the skeleton has a dispatch rule and map for.
    public static let bucketSizes = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]

    /// The pod network (`--cluster-cidr`): cluster-IP traffic from elsewhere is masqueraded.
    public var clusterCIDRs: [IPPrefix]

    public init(clusterCIDRs: [IPPrefix]) { self.clusterCIDRs = clusterCIDRs }

    static func selector(_ family: IPFamily) -> String { family == .v4 ? "ip" : "ip6" }
    static func suffix(_ family: IPFamily) -> String { family == .v4 ? "4" : "6" }
    static let frontendKey = "daddr . meta l4proto . th dport"

    // MARK: Skeleton

    /// The table, its sets, maps and chains, and the static rules, for a table that does not exist yet: nft 1.0.6
    /// cannot add a `typeof` map with a `th` field over an existing one ("conflicting protocols specified: ip vs.
    /// th"), so the proxy makes the table once per full sync (`fullSync`) and changes only elements after that.
    public func skeleton() -> Transaction {
        var tx = Transaction()
        let t = Self.table
        tx.add(Table(family: .inet, name: t, comment: "owned by weft agent (service proxy)"))
        for family in [IPFamily.v4, .v6] {
            let ip = Self.selector(family)
            let f = Self.suffix(family)
            let frontend = "\(ip) \(Self.frontendKey)"
            for name in ["masq-frontends", "cluster-frontends", "no-endpoints", "drop-frontends"] {
                tx.add(NFTSet(family: .inet, table: t, name: name + f, typeOf: frontend))
            }
            tx.add(NFTSet(family: .inet, table: t, name: "cluster-ips" + f, typeOf: "\(ip) daddr"))
            tx.add(NFTSet(family: .inet, table: t, name: "hairpin" + f, typeOf: "\(ip) saddr . \(ip) daddr"))
            for size in Self.bucketSizes {
                tx.add(NFTSet(family: .inet, table: t, name: "frontends\(f)-\(size)", typeOf: frontend))
                tx.add(
                    NFTSet(
                        family: .inet, table: t, name: "backends\(f)-\(size)",
                        typeOf: "\(frontend) . numgen random mod \(size)", mapType: "\(ip) daddr . th dport"))
            }
        }
        let chains: [Chain] = [
            Chain(
                family: .inet, table: t, name: "nat-prerouting", type: .nat, hook: .prerouting, priority: "dstnat",
                policy: "accept"),
            // nft 1.0.6 takes the name `dstnat` only on prerouting: -100 is the same priority.
            Chain(
                family: .inet, table: t, name: "nat-output", type: .nat, hook: .output, priority: "-100",
                policy: "accept"),
            Chain(
                family: .inet, table: t, name: "nat-postrouting", type: .nat, hook: .postrouting,
                priority: "srcnat", policy: "accept"),
            Chain(
                family: .inet, table: t, name: "filter-input", type: .filter, hook: .input, priority: "filter",
                policy: "accept"),
            Chain(
                family: .inet, table: t, name: "filter-forward", type: .filter, hook: .forward, priority: "filter",
                policy: "accept"),
            Chain(
                family: .inet, table: t, name: "filter-output", type: .filter, hook: .output, priority: "filter",
                policy: "accept"),
            Chain(family: .inet, table: t, name: "services"),
            Chain(family: .inet, table: t, name: "endpoint-check"),
        ]
        for chain in chains { tx.add(chain) }
        func rule(_ chain: String, _ body: String) { tx.add(Rule(family: .inet, table: t, chain: chain, body: body)) }
        rule("nat-prerouting", "jump services")
        rule("nat-output", "jump services")
        for family in [IPFamily.v4, .v6] {
            let ip = Self.selector(family)
            let f = Self.suffix(family)
            let frontend = "\(ip) \(Self.frontendKey)"
            rule("services", "\(frontend) @masq-frontends\(f) meta mark set meta mark | \(Self.masqueradeMark)")
            let pods = clusterCIDRs.filter { $0.family == family }.map(\.description)
            if !pods.isEmpty {
                rule(
                    "services",
                    "\(frontend) @cluster-frontends\(f) \(ip) saddr != { \(pods.joined(separator: ", ")) } "
                        + "meta mark set meta mark | \(Self.masqueradeMark)")
            }
            for size in Self.bucketSizes {
                rule(
                    "services",
                    "\(frontend) @frontends\(f)-\(size) dnat \(ip) to \(frontend) . numgen random mod \(size) "
                        + "map @backends\(f)-\(size)")
            }
            rule("nat-postrouting", "ct status dnat \(ip) saddr . \(ip) daddr @hairpin\(f) masquerade")
        }
        rule(
            "nat-postrouting",
            "meta mark & \(Self.masqueradeMark) == \(Self.masqueradeMark) "
                + "meta mark set meta mark ^ \(Self.masqueradeMark) masquerade fully-random")
        for chain in ["filter-input", "filter-forward", "filter-output"] {
            rule(chain, "ct state new jump endpoint-check")
        }
        for family in [IPFamily.v4, .v6] {
            let ip = Self.selector(family)
            let f = Self.suffix(family)
            let frontend = "\(ip) \(Self.frontendKey)"
            rule("endpoint-check", "\(frontend) @no-endpoints\(f) reject")
            rule("endpoint-check", "\(frontend) @drop-frontends\(f) drop")
            rule("endpoint-check", "\(ip) daddr @cluster-ips\(f) reject")
        }
        return tx
    }

    /// A full sync: the table replaced whole (deleted when it exists, then made again with every element) in
    /// one transaction, so packets never see a half-built state.
    public func fullSync(_ plans: [ServicePortPlan], node: ProxyNode, preferClose: Set<ServicePortKey> = [])
        -> Transaction
    {
        var tx = Transaction()
        tx.deleteIfExists(Table(family: .inet, name: Self.table))
        tx.append(contentsOf: skeleton())
        for element in elements(plans, node: node, preferClose: preferClose) { tx.add(element) }
        return tx
    }

    // MARK: Elements

    /// Every element the plans need, by set (sorted, so two syncs of the same state compare equal).
    public func elements(_ plans: [ServicePortPlan], node: ProxyNode, preferClose: Set<ServicePortKey> = [])
        -> [Element]
    {
        var out: [Element] = []
        func add(_ set: String, _ key: String, _ value: String? = nil) {
            out.append(Element(family: .inet, table: Self.table, set: set, key: key, value: value))
        }
        for plan in plans {
            let f = Self.suffix(plan.key.family)
            let proto = plan.key.protocol.nftName
            let selection = EndpointSelection.select(
                plan, zone: node.zone, preferClose: preferClose.contains(plan.key))
            func frontend(_ address: IPAddress, _ port: Int) -> String { "\(address) . \(proto) . \(port)" }
            func dispatch(_ key: String, to endpoints: [ServiceEndpoint]) {
                guard !endpoints.isEmpty else {
                    add((selection.hasAnyEndpoints ? "drop-frontends" : "no-endpoints") + f, key)
                    return
                }
                let size = BucketTable.size(forEndpoints: endpoints.count)
                add("frontends\(f)-\(size)", key)
                for (bucket, index) in BucketTable.assignment(size: size, endpoints: endpoints.count).enumerated() {
                    let endpoint = endpoints[index]
                    add("backends\(f)-\(size)", "\(key) . \(bucket)", "\(endpoint.address) . \(endpoint.port)")
                }
            }
            let clusterKey = frontend(plan.clusterIP, plan.port)
            add("cluster-ips" + f, "\(plan.clusterIP)")
            add("cluster-frontends" + f, clusterKey)
            dispatch(clusterKey, to: plan.internalPolicyLocal ? selection.local : selection.cluster)

            var external = (plan.externalIPs + plan.loadBalancerIPs).map { frontend($0, plan.port) }
            if let nodePort = plan.nodePort {
                external += node.nodePortAddresses.filter { $0.family == plan.key.family }.map {
                    frontend($0, nodePort)
                }
            }
            for key in external {
                if !plan.externalPolicyLocal { add("masq-frontends" + f, key) }
                dispatch(key, to: plan.externalPolicyLocal ? selection.local : selection.cluster)
            }
            for endpoint in plan.endpoints { add("hairpin" + f, "\(endpoint.address) . \(endpoint.address)") }
        }
        // Sets hold each key once (several ports of one service share a cluster IP and their endpoints).
        var seen = Set<String>()
        return out.filter { seen.insert("\($0.set) \($0.key)").inserted }
            .sorted { ($0.set, $0.key) < ($1.set, $1.key) }
    }
}

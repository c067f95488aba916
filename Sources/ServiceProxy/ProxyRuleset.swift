import NFTables
import WeftNet

/// The service proxy's nftables state: table `inet weft-proxy` with a small fixed chain graph, and everything that
/// grows with services and endpoints in sets and maps (issue 5's design; `../shared/notes/nftables.md` measured
/// why: kube-proxy's chain per service and per endpoint takes 84 s to load at 10,000 services, maps 1.6 s).
///
/// Dispatch: a new connection to a frontend (`daddr . l4proto . dport`: a cluster IP, external IP,
/// load-balancer IP or node address with its port) is looked up in the verdict map `dispatchF`, which sends it to
/// the chain for its width W (`mod-W`: `numgen random mod W`, `BucketTable`), whose one rule per family DNATs it to
/// the endpoint `backendsF` maps that bucket to — one lookup and one rule whatever the number of services. A
/// frontend without usable endpoints is rejected at once (`no-endpointsF`), or dropped when its endpoints are all
/// on other nodes under a `Local` policy (`drop-frontendsF`); any other port of a cluster IP is rejected
/// (`cluster-ipsF`). Masquerade: external frontends under `externalTrafficPolicy: Cluster` (`masq-frontendsF`),
/// cluster IPs reached from outside the
/// pod network, and hairpin (a pod reaching itself: `hairpinF` holds `e . e` for every endpoint `e` that is not
/// known to be on another node).
///
/// Two features keep per-flow state. `sessionAffinity: ClientIP`: such a frontend's `dispatchF` verdict goes to
/// a chain the service owns, which sends a client seen within the timeout to the endpoint it
/// used last (one dynamic set of client addresses per endpoint, as kube-proxy does: a removed endpoint takes its
/// clients with it) and otherwise picks one at random and records the client. `loadBalancerSourceRanges`: before
/// DNAT, a load-balancer frontend in `firewall-frontendsF` drops sources outside its ranges (`firewall-allowF`).
public struct ProxyRuleset: Sendable {
    public static let table = "weft-proxy"
    /// The packet mark bit that asks for masquerade (kube-proxy's).
    public static let masqueradeMark = "0x00004000"

    /// The pod network (`--cluster-cidr`): cluster-IP traffic from elsewhere is masqueraded.
    public var clusterCIDRs: [IPPrefix]

    public init(clusterCIDRs: [IPPrefix]) { self.clusterCIDRs = clusterCIDRs }

    static func selector(_ family: IPFamily) -> String { family == .v4 ? "ip" : "ip6" }
    static func suffix(_ family: IPFamily) -> String { family == .v4 ? "4" : "6" }
    static let frontendKey = "daddr . meta l4proto . th dport"

    // MARK: Skeleton

    /// The table, its sets, maps and chains, and the static rules, for a table that does not exist yet: nft 1.0.6
    /// cannot add a `typeof` map with a `th` field over an existing one ("conflicting protocols specified: ip vs.
    /// th"), so the proxy makes the table only when it is missing or was made with another skeleton, and changes
    /// only elements and service-owned objects after that. The table's comment names the skeleton (a hash of its
    /// text), so that a full sync can tell whether the table in the kernel has it (`ProxySyncer`).
    public func skeleton() -> Transaction {
        let body = skeletonObjects()
        var tx = Transaction()
        tx.add(
            Table(
                family: .inet, name: Self.table,
                comment: "owned by weft agent (service proxy), skeleton \(Self.hash(body.render()))"))
        tx.append(contentsOf: body)
        return tx
    }

    private func skeletonObjects() -> Transaction {
        var tx = Transaction()
        let t = Self.table
        for family in [IPFamily.v4, .v6] {
            let ip = Self.selector(family)
            let f = Self.suffix(family)
            let frontend = "\(ip) \(Self.frontendKey)"
            for name in ["masq-frontends", "cluster-frontends", "no-endpoints", "drop-frontends"] {
                tx.add(NFTSet(family: .inet, table: t, name: name + f, typeOf: frontend))
            }
            tx.add(NFTSet(family: .inet, table: t, name: "cluster-ips" + f, typeOf: "\(ip) daddr"))
            tx.add(NFTSet(family: .inet, table: t, name: "hairpin" + f, typeOf: "\(ip) saddr . \(ip) daddr"))
            tx.add(NFTSet(family: .inet, table: t, name: "dispatch" + f, typeOf: frontend, mapType: "verdict"))
            // The bucket's width in the typeof is only its type: every `mod-W` chain's numgen fits it.
            tx.add(
                NFTSet(
                    family: .inet, table: t, name: "backends" + f, typeOf: "\(frontend) . numgen random mod 16",
                    mapType: "\(ip) daddr . th dport"))
            tx.add(NFTSet(family: .inet, table: t, name: "firewall-frontends" + f, typeOf: frontend))
            tx.add(
                NFTSet(
                    family: .inet, table: t, name: "firewall-allow" + f, typeOf: "\(frontend) . \(ip) saddr",
                    flags: [.interval]))
        }
        let chains: [Chain] =
            [
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
                // Before DNAT (kube-proxy's filter-prerouting-pre-dnat): dstnat - 10.
                Chain(
                    family: .inet, table: t, name: "filter-prerouting", type: .filter, hook: .prerouting,
                    priority: "-110", policy: "accept"),
                Chain(
                    family: .inet, table: t, name: "filter-output-pre-dnat", type: .filter, hook: .output,
                    priority: "-110", policy: "accept"),
                Chain(family: .inet, table: t, name: "services"),
                Chain(family: .inet, table: t, name: "endpoint-check"),
                Chain(family: .inet, table: t, name: "firewall-check"),
            ] + BucketTable.widths.map { Chain(family: .inet, table: t, name: "mod-\($0)") }
        for chain in chains { tx.add(chain) }
        func rule(_ chain: String, _ body: String) { tx.add(Rule(family: .inet, table: t, chain: chain, body: body)) }
        rule("nat-prerouting", "jump services")
        rule("nat-output", "jump services")
        rule("filter-prerouting", "ct state new jump firewall-check")
        rule("filter-output-pre-dnat", "ct state new jump firewall-check")
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
            rule("services", "\(frontend) vmap @dispatch\(f)")
            for width in BucketTable.widths {
                rule(
                    "mod-\(width)",
                    "dnat \(ip) to \(frontend) . numgen random mod \(width) map @backends\(f)")
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
            rule(
                "firewall-check",
                "\(frontend) @firewall-frontends\(f) \(frontend) . \(ip) saddr != @firewall-allow\(f) drop")
        }
        return tx
    }

    /// A full sync as one text transaction: the table replaced whole (deleted when it exists, then made again
    /// with every element), so packets never see a half-built state. `ProxySyncer` uses this only when the
    /// kernel's table has another skeleton; else it sends the elements over netlink.
    public func fullSync(_ plans: [ServicePortPlan], node: ProxyNode, preferClose: Set<ServicePortKey> = [])
        -> Transaction
    {
        var state = ProxyKernelState()
        return replacingTable(state.replace(service: "", with: objects(plans, node: node, preferClose: preferClose)))
    }

    /// The table deleted when it exists, then the skeleton and `objects` (all adds), in one transaction.
    public func replacingTable(_ objects: Transaction) -> Transaction {
        var tx = Transaction()
        tx.deleteIfExists(Table(family: .inet, name: Self.table))
        tx.append(contentsOf: skeleton())
        tx.append(contentsOf: objects)
        return tx
    }

    // MARK: Objects

    /// The elements of the shared sets and maps the plans need.
    public func elements(_ plans: [ServicePortPlan], node: ProxyNode, preferClose: Set<ServicePortKey> = [])
        -> [Element]
    {
        objects(plans, node: node, preferClose: preferClose).elements
    }

    /// Everything the plans put in the table: elements by set (sorted, so two syncs of the same state compare
    /// equal), and the chains and sets of services with session affinity.
    public func objects(_ plans: [ServicePortPlan], node: ProxyNode, preferClose: Set<ServicePortKey> = [])
        -> OwnedObjects
    {
        var out = OwnedObjects()
        func add(_ set: String, _ key: String, _ value: String? = nil) {
            out.elements.append(Element(family: .inet, table: Self.table, set: set, key: key, value: value))
        }
        for plan in plans {
            let f = Self.suffix(plan.key.family)
            let proto = plan.key.protocol.nftName
            func frontend(_ address: IPAddress, _ port: Int) -> String { "\(address) . \(proto) . \(port)" }
            add("cluster-ips" + f, "\(plan.clusterIP)")
            for target in Self.frontends(plan, node: node, preferClose: preferClose.contains(plan.key)) {
                let key = frontend(target.address, target.port)
                if target.isClusterIP {
                    add("cluster-frontends" + f, key)
                } else if !plan.externalPolicyLocal {
                    add("masq-frontends" + f, key)
                }
                let endpoints = target.endpoints
                guard !endpoints.isEmpty else {
                    add((target.hasAnyEndpoints ? "drop-frontends" : "no-endpoints") + f, key)
                    continue
                }
                if let timeout = plan.affinityTimeoutSeconds {
                    let affinity = Self.affinityObjects(
                        plan, endpoints: endpoints, local: target.usesLocalEndpoints, timeout: timeout)
                    if !out.chains.contains(where: { $0.chain.name == affinity.chains[0].chain.name }) {
                        out = out + affinity
                    }
                    add("dispatch" + f, key, "goto \(affinity.chains[0].chain.name)")
                    continue
                }
                let width = BucketTable.size(forEndpoints: endpoints.count)
                add("dispatch" + f, key, "goto mod-\(width)")
                for (bucket, index) in BucketTable.assignment(size: width, endpoints: endpoints.count).enumerated() {
                    let endpoint = endpoints[index]
                    add("backends" + f, "\(key) . \(bucket)", "\(endpoint.address) . \(endpoint.port)")
                }
            }
            if !plan.loadBalancerSourceRanges.isEmpty {
                for address in plan.loadBalancerIPs {
                    let key = frontend(address, plan.port)
                    add("firewall-frontends" + f, key)
                    for range in plan.loadBalancerSourceRanges { add("firewall-allow" + f, "\(key) . \(range)") }
                }
            }
            // A pod reaches itself only on its own node: hairpin entries for endpoints that may be here.
            for endpoint in plan.endpoints where !endpoint.isRemote {
                add("hairpin" + f, "\(endpoint.address) . \(endpoint.address)")
            }
        }
        // Sets hold each key once (several ports of one service share a cluster IP and their endpoints).
        var seen = Set<String>()
        out.elements = out.elements.filter { seen.insert("\($0.set) \($0.key)").inserted }
            .sorted { ($0.set, $0.key) < ($1.set, $1.key) }
        return out
    }

    /// One address and port a service port answers on, and the endpoints its new connections go to.
    public struct Frontend: Sendable, Equatable {
        public var address: IPAddress
        public var port: Int
        /// The cluster IP (else an external IP, a load-balancer IP or a node address with the node port).
        public var isClusterIP: Bool
        /// Whether a `Local` traffic policy applies (this node's endpoints only).
        public var usesLocalEndpoints: Bool
        /// Where new connections go; empty: rejected, or dropped when `hasAnyEndpoints` (endpoints elsewhere).
        public var endpoints: [ServiceEndpoint]
        public var hasAnyEndpoints: Bool
    }

    /// Every frontend of `plan` on `node`: the cluster IP, then external IPs, load-balancer IPs and the node's
    /// addresses with the node port, each with the endpoints its traffic policy selects.
    public static func frontends(_ plan: ServicePortPlan, node: ProxyNode, preferClose: Bool) -> [Frontend] {
        let selection = EndpointSelection.select(plan, zone: node.zone, preferClose: preferClose)
        func target(_ address: IPAddress, _ port: Int, cluster: Bool) -> Frontend {
            let local = cluster ? plan.internalPolicyLocal : plan.externalPolicyLocal
            return Frontend(
                address: address, port: port, isClusterIP: cluster, usesLocalEndpoints: local,
                endpoints: local ? selection.local : selection.cluster, hasAnyEndpoints: selection.hasAnyEndpoints)
        }
        var out = [target(plan.clusterIP, plan.port, cluster: true)]
        out += (plan.externalIPs + plan.loadBalancerIPs).map { target($0, plan.port, cluster: false) }
        if let nodePort = plan.nodePort {
            out += node.nodePortAddresses.filter { $0.family == plan.key.family }.map {
                target($0, nodePort, cluster: false)
            }
        }
        return out
    }

    /// The chains and sets of one service port's session affinity over `endpoints`: the dispatch chain (first)
    /// sends a client found in an endpoint's set to that endpoint's chain, else picks an endpoint at random; each
    /// endpoint's chain records the client in its set (refreshing the timeout, as kube-proxy's `update` does)
    /// and DNATs. Names carry a hash of the service port, the policy side and the timeout, and each endpoint's
    /// name a hash of its address and port, so an unchanged endpoint keeps its set (and its clients) across syncs.
    static func affinityObjects(_ plan: ServicePortPlan, endpoints: [ServiceEndpoint], local: Bool, timeout: Int)
        -> OwnedObjects
    {
        let ip = selector(plan.key.family)
        let base = "affinity-" + Self.hash("\(plan.key) \(local ? "local" : "cluster") \(timeout)")
        var out = OwnedObjects()
        var dispatch: [String] = []
        var endpointChains: [String] = []
        for endpoint in endpoints {
            let name = base + "-" + Self.hash("\(endpoint)").prefix(8)
            endpointChains.append(name)
            out.sets.append(
                NFTSet(
                    family: .inet, table: table, name: name, typeOf: "\(ip) saddr", flags: [.dynamic, .timeout],
                    timeout: "\(timeout)s"))
            out.chains.append(
                OwnedObjects.OwnedChain(
                    chain: Chain(family: .inet, table: table, name: name, comment: "\(plan.key) -> \(endpoint)"),
                    rules: [
                        "update @\(name) { \(ip) saddr }",
                        "meta l4proto \(plan.key.protocol.nftName) dnat \(ip) to \(endpoint)",
                    ]))
            dispatch.append("\(ip) saddr @\(name) goto \(name)")
        }
        let choices = endpointChains.enumerated().map { "\($0.offset) : goto \($0.element)" }
        dispatch.append("numgen random mod \(endpoints.count) vmap { \(choices.joined(separator: ", ")) }")
        let head = OwnedObjects.OwnedChain(
            chain: Chain(
                family: .inet, table: table, name: base,
                comment: "\(plan.key) session affinity (\(local ? "local" : "cluster") endpoints)"),
            rules: dispatch)
        return OwnedObjects(elements: [], sets: out.sets, chains: [head] + out.chains)
    }

    /// 16 hex digits of FNV-1a, for stable short object names.
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

import NFTables
import WeftNet

/// The nftables state weft-cni keeps on the node: masquerade of pod subnets (`ipMasq`), hostPort DNAT
/// (`portMappings`) and MAC-spoofing checks (`macspoofchk`).
///
/// The chains are static; what changes per pod lives in sets and maps, so an ADD or DEL is one transaction of a
/// few elements and the per-packet cost does not grow with the number of pods (see shared/notes/nftables.md).
/// A verb first tries a transaction of elements alone (a few hundred microseconds); only if the tables or sets are
/// missing does it apply the skeleton with them (`add` is idempotent, the static chains are flushed and refilled
/// in the same transaction, so concurrent first ADDs do not duplicate rules). Re-declaring the skeleton on every
/// call would cost about 20 ms, most of it the kernel rebuilding the base chains.
/// Weft owns these tables (`inet weft-cni`, `bridge weft-cni`) whole and never touches any other.
public enum HostRules {
    public static let table = "weft-cni"
    static let comment = "owned by weft-cni"

    /// The static part: tables, sets, maps, chains and their rules.
    public static func skeleton() -> Transaction {
        var tx = Transaction()
        let t = Table(family: .inet, name: table, comment: comment)
        tx.add(t)
        func set(_ name: String, _ type: String, map: String? = nil, interval: Bool = false) -> NFTSet {
            NFTSet(
                family: .inet, table: table, name: name, type: type, mapType: map, flags: interval ? [.interval] : [])
        }
        for s in [
            set("masq4", "ipv4_addr", interval: true),
            set("masq4-exempt", "ipv4_addr . ipv4_addr", interval: true),
            set("masq6", "ipv6_addr", interval: true),
            set("masq6-exempt", "ipv6_addr . ipv6_addr", interval: true),
            set("hostport4", "ipv4_addr . inet_proto . inet_service", map: "ipv4_addr . inet_service"),
            set("hostport4-any", "inet_proto . inet_service", map: "ipv4_addr . inet_service"),
            set("hostport6", "ipv6_addr . inet_proto . inet_service", map: "ipv6_addr . inet_service"),
            set("hostport6-any", "inet_proto . inet_service", map: "ipv6_addr . inet_service"),
        ] {
            tx.add(s)
        }
        let chains: [(Chain, [String])] = [
            (
                Chain(
                    family: .inet, table: table, name: "postrouting", type: .nat, hook: .postrouting,
                    priority: "srcnat", policy: "accept"),
                [
                    "ip saddr . ip daddr @masq4-exempt return",
                    "ip saddr @masq4 ip daddr != 224.0.0.0/4 masquerade",
                    "ip6 saddr . ip6 daddr @masq6-exempt return",
                    "ip6 saddr @masq6 ip6 daddr != ff00::/8 masquerade",
                ]
            ),
            (
                Chain(family: .inet, table: table, name: "hostports"),
                [
                    "dnat ip to ip daddr . meta l4proto . th dport map @hostport4",
                    "meta nfproto ipv4 fib daddr type local dnat ip to meta l4proto . th dport map @hostport4-any",
                    "dnat ip6 to ip6 daddr . meta l4proto . th dport map @hostport6",
                    "meta nfproto ipv6 fib daddr type local dnat ip6 to meta l4proto . th dport map @hostport6-any",
                ]
            ),
            (
                Chain(
                    family: .inet, table: table, name: "prerouting", type: .nat, hook: .prerouting, priority: "dstnat",
                    policy: "accept"),
                ["jump hostports"]
            ),
            (
                Chain(
                    family: .inet, table: table, name: "output", type: .nat, hook: .output, priority: "-100",
                    policy: "accept"),
                ["fib daddr type local jump hostports"]
            ),
        ]
        for (c, _) in chains { tx.add(c) }
        for (c, rules) in chains {
            tx.flush(c)
            for r in rules { tx.add(Rule(family: .inet, table: table, chain: c.name, body: r)) }
        }
        // Layer 2: frames from a pod's host-side veth must carry the pod's MAC (reference bridge's macspoofchk).
        tx.add(Table(family: .bridge, name: table, comment: comment))
        tx.add(NFTSet(family: .bridge, table: table, name: "macspoof-ports", type: "ifname"))
        tx.add(NFTSet(family: .bridge, table: table, name: "macspoof-allowed", type: "ifname . ether_addr"))
        let l2 = Chain(
            family: .bridge, table: table, name: "prerouting", type: .filter, hook: .prerouting, priority: "-300",
            policy: "accept")
        tx.add(l2)
        tx.flush(l2)
        tx.add(
            Rule(family: .bridge, table: table, chain: l2.name, body: "iifname . ether saddr @macspoof-allowed accept"))
        tx.add(Rule(family: .bridge, table: table, chain: l2.name, body: "iifname @macspoof-ports drop"))
        return tx
    }

    /// The elements a network needs while it has pods: masquerade of its subnets (`ipMasq`), and the exemption of
    /// traffic from each subnet to itself and to the network's `nonMasqueradeCIDRs` (`subnet . destination`).
    /// They are keyed by subnet, not by pod, so pods come and go without touching them (deleting an element costs
    /// the kernel 10–15 ms here; adding an existing one is free). Their comment is the network's name.
    public static func networkElements(for r: AttachmentRecord) -> [Element] {
        guard r.masquerade else { return [] }
        var out: [Element] = []
        for subnet in Set(r.ips.map(\.network)).sorted(by: { $0.address < $1.address }) {
            let v = subnet.family == .v4 ? "4" : "6"
            out.append(Element(family: .inet, table: table, set: "masq\(v)", key: "\(subnet)", comment: r.network))
            for destination in exemptDestinations(from: subnet, nonMasqueradeCIDRs: r.nonMasqueradeCIDRs) {
                out.append(
                    Element(
                        family: .inet, table: table, set: "masq\(v)-exempt", key: "\(subnet) . \(setKey(destination))",
                        comment: r.network))
            }
        }
        return out
    }

    /// The destinations traffic from `subnet` keeps its source address towards: the subnet itself and the CIDRs
    /// of its family, leaving out any that another of them contains. Nested intervals must not go into the
    /// exempt set: the kernel refuses an element that starts inside another (`File exists`), as
    /// `10.244.0.0/24 . 10.244.0.0/16` does beside `10.244.0.0/24 . 10.244.0.0/24`.
    static func exemptDestinations(from subnet: IPPrefix, nonMasqueradeCIDRs: [IPPrefix]) -> [IPPrefix] {
        let all = Set([subnet] + nonMasqueradeCIDRs.filter { $0.family == subnet.family })
        return all.filter { d in !all.contains { $0 != d && $0.length <= d.length && $0.contains(d.address) } }
            .sorted { $0.address < $1.address }
    }

    /// A prefix as nft lists a set's key: a single address without `/32` or `/128`.
    static func setKey(_ p: IPPrefix) -> String {
        p.length == p.family.bitWidth ? "\(p.address)" : "\(p)"
    }

    /// The elements that carry one pod's rules: its hostPorts and its MAC check. Their comment is the owner tag.
    public static func podElements(for r: AttachmentRecord) -> [Element] {
        var out: [Element] = []
        let tag = ownerTag(network: r.network, containerID: r.containerID, ifname: r.ifname)
        func el(_ set: String, _ key: String, _ value: String? = nil, family: Family = .inet) -> Element {
            Element(family: family, table: table, set: set, key: key, value: value, comment: tag)
        }
        for m in r.portMappings {
            let hostIP = m.hostIP.flatMap { IPAddress($0) }
            for ip in r.ips where hostIP == nil || hostIP!.family == ip.family {
                let v = ip.family == .v4 ? "4" : "6"
                let target = "\(ip.address) . \(m.containerPort)"
                if let hostIP {
                    out.append(el("hostport\(v)", "\(hostIP) . \(m.protocol) . \(m.hostPort)", target))
                } else {
                    out.append(el("hostport\(v)-any", "\(m.protocol) . \(m.hostPort)", target))
                }
            }
        }
        if r.macspoofchk, let mac = r.containerMAC {
            out.append(el("macspoof-ports", "\"\(r.hostVeth)\"", family: .bridge))
            out.append(el("macspoof-allowed", "\"\(r.hostVeth)\" . \(mac)", family: .bridge))
        }
        return out
    }

    /// Every element carries its owner in its comment, so GC finds what belongs to an attachment even when the
    /// attachment's record is lost.
    public static func ownerTag(network: String, containerID: String, ifname: String) -> String {
        "\(network)/\(containerID)/\(ifname)"
    }

    /// The sets whose elements belong to attachments.
    static let dynamicSets: [(Family, String)] = [
        (.inet, "masq4"), (.inet, "masq4-exempt"), (.inet, "masq6"), (.inet, "masq6-exempt"),
        (.inet, "hostport4"), (.inet, "hostport4-any"), (.inet, "hostport6"), (.inet, "hostport6-any"),
        (.bridge, "macspoof-ports"), (.bridge, "macspoof-allowed"),
    ]

    /// Elements in the kernel owned by attachments of `network` that `isValid` rejects, and the network's own
    /// elements when `networkInUse` is false.
    public static func staleElements(
        in backend: any NFTablesBackend, network: String, networkInUse: Bool,
        isValid: (_ containerID: String, _ ifname: String) -> Bool
    ) throws -> [Element] {
        guard try backend.tableExists(family: .inet, table: table) else { return [] }
        var out: [Element] = []
        for (family, set) in dynamicSets {
            for e in (try? backend.listElements(family: family, table: table, set: set)) ?? [] {
                let parts = (e.comment ?? "").split(separator: "/", omittingEmptySubsequences: false)
                guard parts[0] == network else { continue }
                if parts.count == 1 {
                    // A network element: stale once the network has no valid attachment at all.
                    guard !networkInUse else { continue }
                } else {
                    guard parts.count == 3, !isValid(String(parts[1]), String(parts[2])) else { continue }
                }
                var el = e
                if family == .bridge, !el.key.hasPrefix("\"") {  // listings show ifname keys bare
                    let fields = el.key.split(separator: " . ", maxSplits: 1).map(String.init)
                    el.key = "\"\(fields[0])\"" + (fields.count > 1 ? " . " + fields[1] : "")
                }
                out.append(el)
            }
        }
        return out
    }

    /// Removes listed elements, tolerating ones that vanish meanwhile.
    public static func removeElements(_ elements: [Element], skeleton withSkeleton: Bool = true) -> Transaction {
        var tx = withSkeleton ? skeleton() : Transaction()
        for e in elements { tx.add(e) }
        for e in elements { tx.delete(e) }
        return tx
    }

    /// Installs an attachment's elements, its network's and its own (with the skeleton first when `skeleton`).
    public static func addTransaction(_ r: AttachmentRecord, skeleton withSkeleton: Bool = true) -> Transaction {
        var tx = withSkeleton ? skeleton() : Transaction()
        for e in networkElements(for: r) + podElements(for: r) { tx.add(e) }
        return tx
    }

    /// Removes the pods' own elements (not their networks'). Each element is added before it is deleted, so
    /// removing one that is already gone is not an error (nft 1.0.6 has no `destroy`).
    public static func removeTransaction(_ records: [AttachmentRecord], skeleton withSkeleton: Bool = true)
        -> Transaction
    {
        removeElements(records.flatMap(podElements(for:)), skeleton: withSkeleton)
    }

    /// Masquerade elements already in the kernel whose subnets overlap `r`'s network subnets and that `r` does not
    /// want, which an interval set may not hold beside `r`'s: those of `r`'s own network (left from an earlier
    /// subnet or `nonMasqueradeCIDRs`: to be replaced) and those of other networks (a conflict to report).
    public static func overlappingNetworkElements(in backend: any NFTablesBackend, for r: AttachmentRecord) throws
        -> (own: [Element], foreign: [Element])
    {
        var own: [Element] = []
        var foreign: [Element] = []
        let wanted = networkElements(for: r)
        for set in Set(wanted.map(\.set)).sorted() {
            let mine = wanted.filter { $0.set == set }
            let keys = Set(mine.map(\.key))
            let subnets = mine.compactMap { IPPrefix($0.key.split(separator: " ").first ?? "") }
            for e in try backend.listElements(family: .inet, table: table, set: set) where !keys.contains(e.key) {
                guard let have = IPPrefix(e.key.split(separator: " ").first ?? ""),
                    subnets.contains(where: have.overlaps)
                else { continue }
                if e.comment == r.network { own.append(e) } else { foreign.append(e) }
            }
        }
        return (own, foreign)
    }

    /// Applies `make(false)`, the elements alone; if a table, set or map is missing, applies `make(true)`, which
    /// declares the skeleton first.
    public static func apply(_ backend: any NFTablesBackend, _ make: (_ skeleton: Bool) -> Transaction) throws {
        do {
            try backend.apply(make(false))
        } catch let e as NFTablesError where e.code == .notFound {
            try backend.apply(make(true))
        }
    }

    /// Whether an ADD of the attachment needs nft at all (without ipMasq, hostPorts or macspoofchk it does not).
    public static func needsRules(_ r: AttachmentRecord) -> Bool {
        !networkElements(for: r).isEmpty || !podElements(for: r).isEmpty
    }

    /// Whether a DEL of the attachment has rules to remove.
    public static func hasPodRules(_ r: AttachmentRecord) -> Bool { !podElements(for: r).isEmpty }
}

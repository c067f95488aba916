import NFTables
import WeftNet

/// The policy enforcer's nftables state on one node: table `inet weft-policy` (`PolicyTable.name`).
///
/// Why this shape. `../shared/notes/nftables.md` measured nft's load time growing much faster than the chain and
/// jump count (a verdict map to a chain per pod, each jumping into three per-policy chains: 0.30 s at 1,000 pods ×
/// 1,000 policies, 2.67 s at 3,000 × 3,000), while elements of sets and maps stay cheap (160,000 map elements in
/// 1.6 s, one more service's 16 in < 10 ms). So chains exist per *pod group* — the local pods that the same
/// policies select in one direction (and, for ingress, that resolve the named ports those policies use to the
/// same numbers) — not per pod and not per policy, and everything that grows with pods and peers is elements.
/// Pods of one Deployment share a group; N policies that each select their own pods make N groups at most.
///
/// The chain graph (F ∈ {4, 6}: one set or map per family):
///
///     forward (filter hook forward)           input (filter hook input)
///       ct state established,related accept     ct state established,related accept
///       jump egress                             iifname "lo" accept
///       jump ingress                            jump egress          (a pod talking to its own node)
///     egress                                  ingress
///       ip saddr @node-addressesF return        ip saddr @node-addressesF return   (the pod's own node)
///       ip saddr vmap @egress-podsF             ip daddr vmap @ingress-podsF
///       [unknown pod in the pod CIDRs: drop]    [unknown pod in the pod CIDRs: drop]
///     eg-<hash> / in-<hash>: one chain per pod group, its rules in evaluation order:
///       admin rules   ip daddr @<group>-a<i>-anyF | ip daddr . meta l4proto . th dport @<group>-a<i>-portsF
///                     → return (Allow), counter log … drop (Deny), goto <group>-tail (Pass)
///       NetworkPolicy (the pods are isolated) ip daddr @<group>-np-anyF return, the same with -portsF, then
///                     counter log … drop
///       or baseline   ip daddr @<group>-b<i>-anyF … → return / counter log … drop
///       (falling off the end: allowed)
///
/// A packet costs one verdict-map lookup per direction, then a fixed number of set lookups: two per admin or
/// baseline rule that selects the pod (a handful, written by cluster admins) and two for *all* its NetworkPolicies
/// together, however many policies, rules and peers there are — a group's NetworkPolicy rules are one union (an
/// allow list has no order), kept as disjoint intervals (`TrafficMatch.normalized`). Peers are keyed by address
/// (pods as single addresses, ipBlocks as ranges with their `except` cut out) with the protocol and port range,
/// so a named port resolved per destination pod is just another element.
///
/// Replies pass the `ct state` rule first. Traffic from the node's own addresses to its pods is allowed (kubelet
/// probes; it never crosses `forward` anyway). The group chains return on allow (not accept), so that a packet
/// between two pods of this node passes both the source's egress and the destination's ingress in `forward`.
/// Denials are counted and logged to nflog group `logGroup` with a prefix naming the policy (`weft-policy DROP
/// ingress np:x/deny-all`, `… anp:name/ingress[2]`); `logGroup: nil` logs to the kernel log instead.
///
/// A new pod is isolated before its first packet only if the agent has programmed it before the pod runs: with
/// `PolicyNode.podCIDRs` set, packets from or to an address of those CIDRs that is not a known local pod
/// (`local-podsF`) are dropped, so a pod the agent has not programmed yet is isolated rather than open — the
/// agent must add a pod's membership (its elements) before CNI ADD returns, or the pod waits.
public struct PolicyRuleset: Sendable {
    public static let table = PolicyTable.name
    /// The nflog group denials are logged to; `nil`: `log` without a group.
    public var logGroup: Int?

    public init(logGroup: Int? = 1) { self.logGroup = logGroup }

    static func selector(_ family: IPFamily) -> String { family == .v4 ? "ip" : "ip6" }
    static func suffix(_ family: IPFamily) -> String { family == .v4 ? "4" : "6" }
    static let families: [IPFamily] = [.v4, .v6]

    // MARK: Skeleton

    /// The table, its fixed sets, maps, chains and rules (for a table that does not exist yet).
    public func skeleton(node: PolicyNode) -> Transaction {
        var tx = Transaction()
        let t = Self.table
        tx.add(Table(family: .inet, name: t, comment: "owned by weft agent (network policy)"))
        for family in Self.families {
            let ip = Self.selector(family)
            let f = Self.suffix(family)
            tx.add(NFTSet(family: .inet, table: t, name: "node-addresses" + f, typeOf: "\(ip) saddr"))
            tx.add(NFTSet(family: .inet, table: t, name: "local-pods" + f, typeOf: "\(ip) saddr"))
            tx.add(NFTSet(family: .inet, table: t, name: "ingress-pods" + f, typeOf: "\(ip) daddr", mapType: "verdict"))
            tx.add(NFTSet(family: .inet, table: t, name: "egress-pods" + f, typeOf: "\(ip) saddr", mapType: "verdict"))
        }
        for (name, hook) in [("forward", Hook.forward), ("input", .input)] {
            tx.add(
                Chain(
                    family: .inet, table: t, name: name, type: .filter, hook: hook, priority: "filter", policy: "accept"
                ))
        }
        tx.add(Chain(family: .inet, table: t, name: "egress"))
        tx.add(Chain(family: .inet, table: t, name: "ingress"))
        func rule(_ chain: String, _ body: String) { tx.add(Rule(family: .inet, table: t, chain: chain, body: body)) }
        rule("forward", "ct state established,related accept")
        rule("forward", "jump egress")
        rule("forward", "jump ingress")
        rule("input", "ct state established,related accept")
        rule("input", "iifname \"lo\" accept")
        rule("input", "jump egress")
        for (chain, direction, side) in [("egress", PolicyDirection.egress, "saddr"), ("ingress", .ingress, "daddr")] {
            for family in Self.families {
                rule(chain, "\(Self.selector(family)) saddr @node-addresses\(Self.suffix(family)) return")
            }
            for family in Self.families {
                rule(chain, "\(Self.selector(family)) \(side) vmap @\(chain)-pods\(Self.suffix(family))")
            }
            for family in Self.families {
                let cidrs = node.podCIDRs.filter { $0.family == family }.map { $0.network.description }
                guard !cidrs.isEmpty else { continue }
                let ip = Self.selector(family)
                rule(
                    chain,
                    "\(ip) \(side) { \(cidrs.joined(separator: ", ")) } \(ip) \(side) != @local-pods\(Self.suffix(family)) "
                        + deny("\(direction.rawValue) unknown-pod"))
            }
        }
        return tx
    }

    /// A full sync: the table replaced whole in one transaction (deleted when it exists, made again with
    /// everything in it).
    public func fullSync(_ compiled: CompiledPolicies) -> Transaction {
        var tx = Transaction()
        tx.deleteIfExists(Table(family: .inet, name: Self.table))
        tx.append(contentsOf: skeleton(node: compiled.node))
        var state = PolicyKernelState()
        tx.append(contentsOf: state.update(to: objects(compiled)))
        return tx
    }

    /// `counter log prefix "weft-policy DROP <what> " [group N] drop`.
    func deny(_ what: String) -> String {
        var prefix = "weft-policy DROP \(what)"
        if prefix.utf8.count > 120 { prefix = String(prefix.utf8.prefix(120))! }
        return "counter log prefix \"\(prefix) \"" + (logGroup.map { " group \($0)" } ?? "") + " drop"
    }

    // MARK: Objects

    /// Everything the compiled state puts in the table beyond the skeleton: elements of the fixed sets and maps,
    /// and each pod group's chains, sets and elements. Sorted, so equal states compare equal.
    public func objects(_ compiled: CompiledPolicies) -> OwnedObjects {
        var out = OwnedObjects()
        let t = Self.table
        func add(_ set: String, _ key: String, _ value: String? = nil) {
            out.elements.append(Element(family: .inet, table: t, set: set, key: key, value: value))
        }
        for address in Set(compiled.node.addresses) {
            add("node-addresses" + Self.suffix(address.family), address.description)
        }
        for pod in compiled.localPods {
            for address in pod.addresses { add("local-pods" + Self.suffix(address.family), address.description) }
        }
        for (address, group) in compiled.ingress {
            add("ingress-pods" + Self.suffix(address.family), address.description, "jump \(group)")
        }
        for (address, group) in compiled.egress {
            add("egress-pods" + Self.suffix(address.family), address.description, "jump \(group)")
        }
        for group in compiled.groups.values { out = out + groupObjects(group) }
        out.elements.sort { ($0.set, $0.key) < ($1.set, $1.key) }
        out.sets.sort { $0.name < $1.name }
        out.chains.sort { $0.chain.name < $1.chain.name }
        return out
    }

    /// One group's chains (the second, `-tail`, only when an admin rule passes), sets and elements.
    public func groupObjects(_ group: PolicyGroup) -> OwnedObjects {
        var out = OwnedObjects()
        let t = Self.table
        let side = group.direction == .ingress ? "saddr" : "daddr"
        let tail = group.name + "-tail"

        /// The sets of one match and the rules that look them up, ending in `verdict`.
        func lookups(_ base: String, _ match: TrafficMatch, _ verdict: String) -> [String] {
            var rules: [String] = []
            for family in Self.families {
                let ip = Self.selector(family)
                let f = Self.suffix(family)
                if match.hasAnyPortShape {
                    let name = "\(base)-any\(f)"
                    out.sets.append(
                        NFTSet(family: .inet, table: t, name: name, typeOf: "\(ip) \(side)", flags: [.interval]))
                    for range in match.any where range.family == family {
                        out.elements.append(Element(family: .inet, table: t, set: name, key: range.description))
                    }
                    rules.append("\(ip) \(side) @\(name) \(verdict)")
                }
                if match.hasPortShape {
                    let name = "\(base)-ports\(f)"
                    let key = "\(ip) \(side) . meta l4proto . th dport"
                    out.sets.append(NFTSet(family: .inet, table: t, name: name, typeOf: key, flags: [.interval]))
                    for entry in match.ports where entry.range.family == family {
                        out.elements.append(Element(family: .inet, table: t, set: name, key: entry.description))
                    }
                    rules.append("\(key) @\(name) \(verdict)")
                }
            }
            return rules
        }
        func verdict(_ rule: CompiledRule) -> String {
            switch rule.action {
            case .allow: "return"
            case .deny: deny("\(group.direction.rawValue) \(rule.origin.short)")
            case .pass: "goto \(tail)"
            }
        }

        var head: [String] = []
        for (index, rule) in group.admin.enumerated() {
            head += lookups("\(group.name)-a\(index)", rule.match, verdict(rule))
        }
        var rest: [String] = []
        if let first = group.isolatingPolicies.first {
            rest += lookups("\(group.name)-np", group.networkAllow, "return")
            let more = group.isolatingPolicies.count > 1 ? "+\(group.isolatingPolicies.count - 1)" : ""
            rest.append(deny("\(group.direction.rawValue) np:\(first)\(more)"))
        } else {
            for (index, rule) in group.baseline.enumerated() {
                rest += lookups("\(group.name)-b\(index)", rule.match, verdict(rule))
            }
        }
        let comment = Self.comment(group)
        if group.hasPass {
            out.chains.append(
                OwnedObjects.OwnedChain(
                    chain: Chain(family: .inet, table: t, name: group.name, comment: comment),
                    rules: head + ["goto \(tail)"]))
            out.chains.append(
                OwnedObjects.OwnedChain(
                    chain: Chain(family: .inet, table: t, name: tail, comment: comment), rules: rest))
        } else {
            out.chains.append(
                OwnedObjects.OwnedChain(
                    chain: Chain(family: .inet, table: t, name: group.name, comment: comment), rules: head + rest))
        }
        return out
    }

    /// `ingress: anp a,b; np x/p; banp` (at most 127 bytes).
    static func comment(_ group: PolicyGroup) -> String {
        var parts: [String] = []
        var admins: [String] = []
        for rule in group.admin where !admins.contains(rule.origin.policy) { admins.append(rule.origin.policy) }
        if !admins.isEmpty { parts.append("anp " + admins.joined(separator: ",")) }
        if !group.isolatingPolicies.isEmpty { parts.append("np " + group.isolatingPolicies.joined(separator: ",")) }
        if !group.baseline.isEmpty { parts.append("banp") }
        let text = "\(group.direction.rawValue): " + parts.joined(separator: "; ")
        return text.utf8.count <= 127 ? text : String(text.utf8.prefix(124))! + "..."
    }
}

import Glibc
import Netlink
import WeftNet

/// The kernel side of one attachment: the veth pair, the bridge or host routes, the container's addresses and
/// routes. Everything goes through rtnetlink; nothing shells out.
final class PodNetwork {
    let config: NetworkConfig
    let env: CNIEnvironment
    private let netns: NetNS
    private let host: RouteSocket
    private let container: RouteSocket

    /// The alias of bridges weft-cni created (and so may delete).
    static let bridgeAlias = "weft-cni"

    struct Made {
        var result: CNIResult
        var hostVeth: String
        var containerMAC: String
    }

    static func kernel(_ what: String, _ error: any Error) -> CNIError {
        if let e = error as? CNIError { return e }
        return CNIError(.kernel, "\(what): \(error)")
    }

    static func openNetNS(_ path: String) throws -> NetNS {
        do {
            return try NetNS.open(path: path)
        } catch {
            throw CNIError(.invalidEnvironment, "CNI_NETNS \(path) cannot be opened: \(error)")
        }
    }

    /// Opens the pod's netns and one netlink socket on each side; a netns that cannot be opened is CNI error 4.
    init(config: NetworkConfig, env: CNIEnvironment) throws {
        self.config = config
        self.env = env
        netns = try Self.openNetNS(env.netns)
        do {
            host = try RouteSocket()
            container = try RouteSocket(netns: netns)
        } catch {
            netns.close()
            throw Self.kernel("open netlink sockets", error)
        }
    }

    deinit {
        host.close()
        container.close()
        netns.close()
    }

    /// Checks what can be checked before anything is made: the interface name is free in the pod.
    func preflight() throws {
        let exists: Bool
        do {
            exists = try container.link(named: env.ifname) != nil
        } catch {
            throw Self.kernel("look up \(env.ifname) in \(env.netns)", error)
        }
        if exists {
            throw CNIError(.invalidConfig, "interface \(env.ifname) already exists in \(env.netns)")
        }
    }

    /// Wires the container to the node and configures `ips` and `routes` inside it.
    func add(ips: [CNIResult.IPConfig], routes: [CNIResult.Route], rollback: Rollback) throws -> Made {
        let hostName = HostVethName.make(containerID: env.containerID, ifname: env.ifname)
        var bridgeLink: Link?
        do {
            if config.mode == .bridge {
                bridgeLink = try ensureBridge(host, ips: ips)
            }
            if config.isGateway || config.mode == .ptp {
                try enableForwarding(ips)
            }
            // A stale host end with our deterministic name belongs to an earlier, failed attempt of this attachment.
            if let stale = try host.link(named: hostName) { try host.deleteLink(index: stale.index) }
            let mtu = config.mtu ?? bridgeLink.map { $0.mtu }
            try host.addVeth(
                name: hostName, peerName: env.ifname, peerNetNS: netns, mtu: mtu, mac: nil, peerMAC: config.runtimeMAC)
            let (nsPath, ifname) = (env.netns, env.ifname)
            rollback.add {
                try? PodNetwork.remove(netnsPath: nsPath, ifname: ifname, hostVeth: hostName)
            }
            guard let hostLink = try host.link(named: hostName) else {
                throw CNIError(.kernel, "veth \(hostName) vanished after creation")
            }
            if let bridgeLink {
                try host.setMaster(index: hostLink.index, master: bridgeLink.index)
                if config.hairpinMode { try host.setBridgePortHairpin(index: hostLink.index, on: true) }
                if let vlan = config.vlan {
                    try host.addBridgeVLAN(
                        index: hostLink.index, vid: UInt16(vlan), pvid: true, untagged: true, onSelf: false)
                }
            }
            try host.setUp(index: hostLink.index)

            guard let podLink = try container.link(named: env.ifname) else {
                throw CNIError(.kernel, "\(env.ifname) did not appear in \(env.netns)")
            }
            for ip in ips {
                // ptp: the address alone, no on-link subnet; every packet goes through the host end.
                let prefix =
                    config.mode == .ptp
                    ? IPPrefix(address: ip.address.address, length: ip.address.family.bitWidth) : ip.address
                try container.addAddress(index: podLink.index, prefix: prefix, noDAD: true)
            }
            // No duplicate address detection on the pod's link-local address either: its MAC is random and the
            // global addresses come from IPAM (added with nodad). It also spares the kernel DAD timers to cancel
            // when the pod goes away soon after.
            if ips.contains(where: { $0.address.family == .v6 }) {
                let key = "net/ipv6/conf/\(env.ifname)/accept_dad"
                try netns.run { try Sysctl.write(key, "0") }
            }
            try container.setUp(index: podLink.index)
            if config.mode == .ptp {
                try configurePointToPoint(
                    host: host, hostIndex: hostLink.index, container: container, podIndex: podLink.index, ips: ips)
            }
            for r in routes {
                var route = Route(destination: r.dst)
                // A route without a gateway goes through the gateway of its family (as the reference plugins do).
                route.gateway = r.gw ?? ips.first { $0.address.family == r.dst.family }?.gateway
                route.outputIndex = podLink.index
                if let p = r.priority { route.metric = UInt32(p) }
                if let m = r.mtu { route.mtu = UInt32(m) }
                if let t = r.table { route.table = UInt32(t) }
                do {
                    try container.addRoute(route)
                } catch let e as NetlinkError where e.isExists {
                    continue
                }
            }
            let podMAC = try container.link(index: podLink.index)?.mac?.description ?? ""
            let hostMAC = try host.link(index: hostLink.index)?.mac?.description
            var result = CNIResult()
            if let bridgeLink {
                // The bridge takes its MAC from its first port: read it again now that ours is attached.
                let mac = (try host.link(index: bridgeLink.index) ?? bridgeLink).mac
                result.interfaces.append(.init(name: bridgeLink.name, mac: mac?.description))
            }
            result.interfaces.append(.init(name: hostName, mac: hostMAC))
            result.interfaces.append(.init(name: env.ifname, mac: podMAC, mtu: mtu ?? podLink.mtu, sandbox: env.netns))
            let podIndex = result.interfaces.count - 1
            result.ips = ips.map {
                var ip = $0; ip.interface = podIndex; return ip
            }
            result.routes = routes
            return Made(result: result, hostVeth: hostName, containerMAC: podMAC)
        } catch let e as CNIError {
            throw e
        } catch {
            throw Self.kernel("set up \(env.ifname) in \(env.netns)", error)
        }
    }

    /// Creates the bridge if needed, brings it up, and (isGateway) gives it each gateway address.
    private func ensureBridge(_ host: RouteSocket, ips: [CNIResult.IPConfig]) throws -> Link {
        var link = try host.link(named: config.bridge)
        if link == nil {
            do {
                try host.addBridge(name: config.bridge, mtu: config.mtu, mac: nil, vlanFiltering: config.vlan != nil)
            } catch let e as NetlinkError where e.isExists {
                // Another ADD made it first.
            }
            // No duplicate address detection on the bridge's link-local address: while it is tentative (a second
            // or more) the node cannot resolve its pods' IPv6 neighbours for forwarded packets (the kernel sends
            // neighbour solicitations for them from a link-local address), so a new node's first pods would be
            // unreachable over IPv6 for that long. Missing IPv6 support is not an error.
            try? Sysctl.write("net/ipv6/conf/\(config.bridge)/accept_dad", "0")
            link = try host.link(named: config.bridge)
            // Mark it as ours, so GC may remove it once no pod uses it.
            if let l = link, l.alias == nil { try host.setAlias(index: l.index, alias: Self.bridgeAlias) }
        }
        guard var bridge = link else { throw CNIError(.kernel, "bridge \(config.bridge) could not be created") }
        guard bridge.kind == "bridge" else {
            throw CNIError(
                .invalidConfig, "\(config.bridge) exists and is a \(bridge.kind ?? "non-bridge") device, not a bridge")
        }
        if config.vlan != nil { try host.setBridgeVLANFiltering(index: bridge.index, on: true) }
        if config.promiscMode { try host.setPromiscuous(index: bridge.index, on: true) }
        if config.isGateway {
            let existing = try host.addresses(index: bridge.index)
            for ip in ips {
                guard let gw = ip.gateway else { continue }
                let want = IPPrefix(address: gw, length: ip.address.length)
                if existing.contains(where: { $0.prefix == want }) { continue }
                // Without forceAddress, a different address in the same subnet is a misconfiguration (as in the
                // reference plugin); with it, the old address is replaced.
                for other in existing where other.prefix.family == want.family && other.prefix.overlaps(want) {
                    guard config.forceAddress else {
                        throw CNIError(
                            .invalidConfig,
                            "bridge \(config.bridge) already has address \(other.prefix), not \(want); set forceAddress to replace it"
                        )
                    }
                    try host.deleteAddress(index: bridge.index, prefix: other.prefix)
                }
                do {
                    try host.addAddress(index: bridge.index, prefix: want, noDAD: true)
                } catch let e as NetlinkError where e.isExists {}
            }
        }
        if !bridge.isUp {
            try host.setUp(index: bridge.index)
            bridge.isUp = true
        }
        return bridge
    }

    /// ptp: the host end holds each gateway as a host address and routes the pod's address to the veth; the pod
    /// reaches its gateway on-link and its subnet through it.
    private func configurePointToPoint(
        host: RouteSocket, hostIndex: Int32, container: RouteSocket, podIndex: Int32, ips: [CNIResult.IPConfig]
    ) throws {
        for ip in ips {
            let width = ip.address.family.bitWidth
            guard let gw = ip.gateway else {
                throw CNIError(.invalidConfig, "ptp mode needs a gateway for \(ip.address)")
            }
            do {
                try host.addAddress(index: hostIndex, prefix: IPPrefix(address: gw, length: width), noDAD: true)
            } catch let e as NetlinkError where e.isExists {}
            var toPod = Route(destination: IPPrefix(address: ip.address.address, length: width))
            toPod.outputIndex = hostIndex
            toPod.scope = .link
            try host.replaceRoute(toPod)
            var toGateway = Route(destination: IPPrefix(address: gw, length: width))
            toGateway.outputIndex = podIndex
            toGateway.scope = .link
            try container.addRoute(toGateway)
            var subnet = Route(destination: ip.address.network)
            subnet.gateway = gw
            subnet.outputIndex = podIndex
            subnet.onlink = true
            try container.addRoute(subnet)
        }
    }

    private func enableForwarding(_ ips: [CNIResult.IPConfig]) throws {
        for family in Set(ips.map(\.address.family)) {
            let key = family == .v4 ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding"
            if (try? Sysctl.read(key))?.trimmingWhitespace() != "1" {
                try Sysctl.write(key, "1")
            }
        }
    }

    /// Removes the attachment's interfaces. The host end carries our deterministic name: deleting it takes the
    /// pod end with it, with no need to enter the pod's netns. Only when it is gone is the pod end looked up in
    /// the netns (if that still exists). Missing pieces are not errors.
    static func remove(netnsPath: String, ifname: String, hostVeth: String) throws {
        do {
            let host = try RouteSocket()
            defer { host.close() }
            if let l = try host.link(named: hostVeth) {
                try host.deleteLink(index: l.index)
                return
            }
        } catch let e as NetlinkError where e.isNotFound {
        } catch {
            throw kernel("delete \(hostVeth)", error)
        }
        guard !netnsPath.isEmpty, FileSystem.exists(netnsPath), let ns = try? NetNS.open(path: netnsPath) else {
            return
        }
        defer { ns.close() }
        do {
            let container = try RouteSocket(netns: ns)
            defer { container.close() }
            if let l = try container.link(named: ifname) { try container.deleteLink(index: l.index) }
        } catch let e as NetlinkError where e.isNotFound {
        } catch {
            throw kernel("delete \(ifname) in \(netnsPath)", error)
        }
    }
}

import NFTables
import Netlink
import WeftNet

/// One invocation of a verb: the parsed configuration and environment, and the parts it uses.
struct Invocation {
    let config: NetworkConfig
    let env: CNIEnvironment
    let stdin: [UInt8]
    let makeBackend: () -> any NFTablesBackend

    var attachments: AttachmentStore { AttachmentStore(stateDir: config.stateDir, network: config.name) }

    private func ipamStore() throws -> IPAMStore {
        try IPAMStore(dataDir: config.ipam!.dataDir, network: config.name)
    }

    private func nft(_ what: String, _ make: (_ skeleton: Bool) -> Transaction) throws {
        do {
            try HostRules.apply(makeBackend(), make)
        } catch {
            throw CNIError(.nftables, "\(what): \(error)")
        }
    }

    // MARK: - IPAM

    /// Allocates addresses (built in, or through the delegated IPAM plugin), undone by `rollback` on failure.
    private func allocate(_ rollback: Rollback) throws -> CNIResult {
        guard let ipam = config.ipam else { return CNIResult() }
        if ipam.isBuiltin {
            let store = try ipamStore()
            let allocator = IPAllocator(config: ipam, store: store)
            let requested = config.requestedIPs + (try requestedFromArgs())
            let got = try store.withLock {
                try allocator.allocate(containerID: env.containerID, ifname: env.ifname, requested: requested)
            }
            rollback.add { _ = try? store.withLock { store.release(containerID: env.containerID, ifname: env.ifname) } }
            return CNIResult(
                ips: got.map { CNIResult.IPConfig(address: $0.address, gateway: $0.gateway) },
                routes: ipam.routes.map { CNIResult.Route(dst: $0.dst, gw: $0.gw) })
        }
        let delegation = Delegation(env: env)
        let result = try delegation.ipamAdd(ipam.type, config: stdin)
        rollback.add { _ = try? delegation.run(ipam.type, .del, config: stdin) }
        return result
    }

    /// host-local's `IP=` CNI_ARGS convention.
    private func requestedFromArgs() throws -> [IPAddress] {
        guard let list = env.args["IP"] else { return [] }
        return try list.split(separator: ",").map {
            try NetworkConfig.parseRequestedIP(String($0), source: "CNI_ARGS IP")
        }
    }

    /// The subnet each address is not masqueraded towards.
    private func subnetsFor(_ ips: [IPAddress]) -> [IPPrefix] {
        ips.map { ip in
            if let s = config.ipam?.subnet(containing: ip) {
                return IPPrefix(address: ip, length: s.length)
            }
            return IPPrefix(address: ip, length: ip.family.bitWidth)
        }
    }

    /// Installs an attachment's rules. If its network's masquerade elements overlap some in the kernel (nft
    /// reports `interval overlaps` for a subnet, `File exists` for an exemption starting inside another), an older
    /// subnet or exemption of the same network is replaced; another network's is a configuration error that names
    /// both. `File exists` without such elements is another conflict (a hostPort taken) and is reported as it is.
    private func installRules(_ record: AttachmentRecord) throws {
        do {
            try HostRules.apply(makeBackend()) { HostRules.addTransaction(record, skeleton: $0) }
            return
        } catch let e as NFTablesError where e.code == .overlap || e.code == .exists {
            let backend = makeBackend()
            let (own, foreign) = try HostRules.overlappingNetworkElements(in: backend, for: record)
            if e.code == .exists, own.isEmpty, foreign.isEmpty {
                throw CNIError(.nftables, "install rules for \(env.containerID): \(e)")
            }
            if let other = foreign.first {
                let mine = HostRules.networkElements(for: record).first?.key ?? "?"
                throw CNIError(
                    .invalidConfig,
                    "ipMasq: subnet \(mine) of network \(config.name) overlaps \(other.key) of network "
                        + "\(other.comment ?? "?") on this node")
            }
            // Two transactions: nft 1.0.6 checks overlaps against the kernel's elements before a delete in the
            // same transaction takes effect.
            do {
                try backend.apply(HostRules.removeElements(own, skeleton: false))
                try backend.apply(HostRules.addTransaction(record, skeleton: false))
            } catch {
                throw CNIError(.nftables, "install rules for \(env.containerID): \(error)")
            }
        } catch {
            throw CNIError(.nftables, "install rules for \(env.containerID): \(error)")
        }
    }

    // MARK: - Network plugin verbs

    func add() throws -> [UInt8] {
        let network = try PodNetwork(config: config, env: env)
        try network.preflight()
        let rollback = Rollback()
        do {
            let allocated = try allocate(rollback)
            var routes = allocated.routes
            if config.isDefaultGateway {
                for ip in allocated.ips {
                    guard let gw = ip.gateway else { continue }
                    let dflt = IPPrefix(address: IPAddress(family: gw.family, numeric: 0), length: 0)
                    if !routes.contains(where: { $0.dst == dflt }) { routes.append(CNIResult.Route(dst: dflt, gw: gw)) }
                }
            }
            let made = try network.add(ips: allocated.ips, routes: routes, rollback: rollback)
            var result = made.result
            result.dns = config.dns ?? allocated.dns
            var record = AttachmentRecord(
                network: config.name, containerID: env.containerID, ifname: env.ifname, netns: env.netns,
                mode: config.mode, bridge: config.mode == .bridge ? config.bridge : nil, hostVeth: made.hostVeth,
                ips: allocated.ips.map(\.address), masquerade: config.ipMasq,
                nonMasqueradeCIDRs: config.nonMasqueradeCIDRs, portMappings: config.portMappings,
                containerMAC: made.containerMAC, macspoofchk: config.macspoofchk, resultJSON: nil)
            if HostRules.needsRules(record) {
                try installRules(record)
                let r = record
                rollback.add {
                    try? HostRules.apply(self.makeBackend()) { HostRules.removeTransaction([r], skeleton: $0) }
                }
            }
            if let prev = config.prevResult {
                var chained = try CNIResult.parse(prev)
                chained.append(result)
                result = chained
            }
            record.resultJSON = result.json(version: CNIVersion.current)
            try attachments.save(record)
            rollback.commit()
            return result.encoded(version: config.cniVersion)
        } catch {
            rollback.run()
            throw error
        }
    }

    func del() throws {
        let record = attachments.load(containerID: env.containerID, ifname: env.ifname)
        let hostVeth = record?.hostVeth ?? HostVethName.make(containerID: env.containerID, ifname: env.ifname)
        try PodNetwork.remove(netnsPath: env.netns, ifname: env.ifname, hostVeth: hostVeth)
        // Addresses: the record's, else what IPAM holds for the attachment, else the prevResult's.
        var released: [IPAddress] = []
        if let ipam = config.ipam {
            if ipam.isBuiltin {
                let store = try ipamStore()
                released = try store.withLock { store.release(containerID: env.containerID, ifname: env.ifname) }
            } else {
                try Delegation(env: env).run(ipam.type, .del, config: stdin)
            }
        }
        var rules = record
        if rules == nil {
            var ips = subnetsFor(released)
            if ips.isEmpty, let prev = config.prevResult, let r = try? CNIResult.parse(prev) {
                ips = r.ips.map(\.address)
            }
            rules = AttachmentRecord(
                network: config.name, containerID: env.containerID, ifname: env.ifname, netns: env.netns,
                mode: config.mode, bridge: nil, hostVeth: hostVeth, ips: ips, masquerade: config.ipMasq,
                nonMasqueradeCIDRs: config.nonMasqueradeCIDRs, portMappings: config.portMappings, containerMAC: nil,
                macspoofchk: false, resultJSON: nil)
        }
        if let rules, HostRules.hasPodRules(rules) {
            try nft("remove rules of \(env.containerID)") { HostRules.removeTransaction([rules], skeleton: $0) }
        }
        attachments.remove(containerID: env.containerID, ifname: env.ifname)
    }

    func check() throws {
        guard let prevJSON = config.prevResult else {
            throw CNIError(.invalidConfig, "CHECK needs prevResult")
        }
        let prev = try CNIResult.parse(prevJSON)
        guard let record = attachments.load(containerID: env.containerID, ifname: env.ifname) else {
            throw CNIError(
                .checkFailed,
                "no attachment \(env.containerID)/\(env.ifname) was made by weft-cni on network \(config.name)")
        }
        func fail(_ why: String) -> CNIError { CNIError(.checkFailed, "\(env.containerID)/\(env.ifname): \(why)") }
        let want = Set(prev.ips.map(\.address.address))
        guard want.isSubset(of: Set(record.ips.map(\.address))) else {
            throw fail("prevResult addresses \(want.sorted()) differ from those ADD made \(record.ips)")
        }
        let netns = try PodNetwork.openNetNS(env.netns)
        defer { netns.close() }
        do {
            let container = try RouteSocket(netns: netns)
            defer { container.close() }
            guard let link = try container.link(named: env.ifname) else {
                throw fail("\(env.ifname) is missing from \(env.netns)")
            }
            guard link.isUp else { throw fail("\(env.ifname) is down") }
            let have = Set(try container.addresses(index: link.index).map(\.prefix.address))
            for ip in record.ips where !have.contains(ip.address) {
                throw fail("address \(ip.address) is missing from \(env.ifname)")
            }
            if config.isDefaultGateway {
                for family in Set(record.ips.map(\.family)) {
                    let routes = try container.routes(family: family)
                    guard routes.contains(where: { $0.destination.length == 0 }) else {
                        throw fail("no default route for IPv\(family.rawValue)")
                    }
                }
            }
            let host = try RouteSocket()
            defer { host.close() }
            guard let hostLink = try host.link(named: record.hostVeth) else {
                throw fail("host veth \(record.hostVeth) is missing")
            }
            if let bridgeName = record.bridge {
                guard let bridge = try host.link(named: bridgeName) else {
                    throw fail("bridge \(bridgeName) is missing")
                }
                guard hostLink.masterIndex == bridge.index else {
                    throw fail("host veth \(record.hostVeth) is not attached to bridge \(bridgeName)")
                }
            }
        } catch let e as CNIError {
            throw e
        } catch {
            throw PodNetwork.kernel("check \(env.ifname)", error)
        }
        if let ipam = config.ipam {
            if ipam.isBuiltin {
                let held = Set(try ipamStore().reservations(containerID: env.containerID, ifname: env.ifname))
                for ip in record.ips where !held.contains(ip.address) {
                    throw fail("IPAM holds no reservation of \(ip.address)")
                }
            } else {
                try Delegation(env: env).run(ipam.type, .check, config: stdin)
            }
        }
        if record.masquerade {
            let backend = makeBackend()
            for ip in record.ips {
                let set = ip.family == .v4 ? "masq4" : "masq6"
                let elements = (try? backend.listElements(family: .inet, table: HostRules.table, set: set)) ?? []
                guard elements.contains(where: { $0.key == ip.network.description }) else {
                    throw fail("masquerade rule for \(ip.address) is missing")
                }
            }
        }
    }

    /// Removes every attachment of this network that `cni.dev/valid-attachments` does not list.
    func gc() throws {
        guard let validList = config.validAttachments else {
            throw CNIError(.invalidConfig, "GC needs cni.dev/valid-attachments")
        }
        let valid = Set(validList)
        var stale = attachments.all().filter {
            !valid.contains(Attachment(containerID: $0.containerID, ifname: $0.ifname))
        }
        var errors: [String] = []
        if let ipam = config.ipam {
            if ipam.isBuiltin {
                let store = try ipamStore()
                let released: [IPAMStore.Reservation] = try store.withLock {
                    let gone = store.reservations().filter {
                        !valid.contains(Attachment(containerID: $0.containerID, ifname: $0.ifname))
                    }
                    for r in gone { store.release(r.ip) }
                    return gone
                }
                // Addresses with no record still get their rules removed and their host veth deleted.
                let known = Set(stale.map { Attachment(containerID: $0.containerID, ifname: $0.ifname) })
                let orphans = Dictionary(
                    grouping: released.filter {
                        !known.contains(Attachment(containerID: $0.containerID, ifname: $0.ifname))
                    }
                ) { Attachment(containerID: $0.containerID, ifname: $0.ifname) }
                for (a, rs) in orphans {
                    stale.append(
                        AttachmentRecord(
                            network: config.name, containerID: a.containerID, ifname: a.ifname, netns: "",
                            mode: config.mode, bridge: nil,
                            hostVeth: HostVethName.make(containerID: a.containerID, ifname: a.ifname),
                            ips: subnetsFor(rs.map(\.ip)), masquerade: config.ipMasq,
                            nonMasqueradeCIDRs: config.nonMasqueradeCIDRs, portMappings: [], containerMAC: nil,
                            macspoofchk: false, resultJSON: nil))
                }
            } else {
                do {
                    try Delegation(env: env).run(ipam.type, .gc, config: stdin)
                } catch {
                    errors.append("\(error)")
                }
            }
        }
        for r in stale {
            do {
                try PodNetwork.remove(netnsPath: "", ifname: r.ifname, hostVeth: r.hostVeth)
            } catch {
                errors.append("\(error)")
            }
        }
        // Host ends on our bridge that no valid attachment owns (their records may be lost too).
        if config.mode == .bridge {
            let validNames = Set(validList.map { HostVethName.make(containerID: $0.containerID, ifname: $0.ifname) })
            do {
                let host = try RouteSocket()
                defer { host.close() }
                if let bridge = try host.link(named: config.bridge) {
                    for l in try host.links()
                    where l.masterIndex == bridge.index && l.name.hasPrefix(HostVethName.prefix)
                        && !validNames.contains(l.name)
                    {
                        try? host.deleteLink(index: l.index)
                    }
                    // A bridge weft-cni made, left without ports, goes too (the next ADD makes it again).
                    let ports = try host.links().filter { $0.masterIndex == bridge.index }
                    if ports.isEmpty, bridge.alias == PodNetwork.bridgeAlias {
                        try host.deleteLink(index: bridge.index)
                    }
                }
            } catch {
                errors.append("scan bridge \(config.bridge): \(error)")
            }
        }
        let withRules = stale.filter(HostRules.hasPodRules)
        if !withRules.isEmpty {
            do {
                try nft("remove rules of stale attachments") { HostRules.removeTransaction(withRules, skeleton: $0) }
            } catch {
                errors.append("\(error)")
            }
        }
        // Whatever rules remain for attachments that are not valid (their records were lost).
        do {
            let backend = makeBackend()
            let leftovers = try HostRules.staleElements(
                in: backend, network: config.name, networkInUse: !valid.isEmpty
            ) {
                valid.contains(Attachment(containerID: $0, ifname: $1))
            }
            if !leftovers.isEmpty {
                try nft("remove stale rules") { HostRules.removeElements(leftovers, skeleton: $0) }
            }
        } catch {
            errors.append("\(error)")
        }
        for r in stale { attachments.remove(containerID: r.containerID, ifname: r.ifname) }
        if !errors.isEmpty {
            throw CNIError(.ioFailure, "GC could not remove everything", details: errors.joined(separator: "; "))
        }
    }

    /// STATUS: can an ADD succeed now? The IPAM store must be writable and every range set must have an address left.
    func status() throws {
        if let ipam = config.ipam {
            if ipam.isBuiltin {
                try ipamStatus()
            } else {
                try Delegation(env: env).run(ipam.type, .status, config: stdin)
            }
        }
    }

    // MARK: - IPAM plugin verbs (`weft-ipam`)

    func ipamAdd() throws -> [UInt8] {
        let result = try allocate(Rollback())
        return result.encoded(version: config.cniVersion)
    }

    func ipamDel() throws {
        let store = try ipamStore()
        _ = try store.withLock { store.release(containerID: env.containerID, ifname: env.ifname) }
    }

    func ipamCheck() throws {
        let held = try ipamStore().reservations(containerID: env.containerID, ifname: env.ifname)
        guard !held.isEmpty else {
            throw CNIError(.checkFailed, "ipam: no address is reserved for \(env.containerID)/\(env.ifname)")
        }
        if let prev = config.prevResult, let r = try? CNIResult.parse(prev) {
            for ip in r.ips where !held.contains(ip.address.address) {
                throw CNIError(
                    .checkFailed, "ipam: \(ip.address.address) is not reserved for \(env.containerID)/\(env.ifname)")
            }
        }
    }

    func ipamGC() throws {
        guard let validList = config.validAttachments else {
            throw CNIError(.invalidConfig, "GC needs cni.dev/valid-attachments")
        }
        let valid = Set(validList)
        let store = try ipamStore()
        try store.withLock {
            for r in store.reservations()
            where !valid.contains(Attachment(containerID: r.containerID, ifname: r.ifname)) {
                store.release(r.ip)
            }
        }
    }

    func ipamStatus() throws {
        let ipam = config.ipam!
        let store: IPAMStore
        do {
            store = try ipamStore()
        } catch {
            throw CNIError(.pluginNotAvailable, "IPAM store cannot be created: \(error)")
        }
        guard store.isWritable() else {
            throw CNIError(.pluginNotAvailable, "IPAM store \(store.directory) is not writable")
        }
        let taken = store.reservations().map(\.ip)
        for set in ipam.rangeSets {
            let size = set.reduce(UInt128(0)) { $0 &+ $1.count }
            let gateways = set.compactMap { r in r.gateway.flatMap { r.contains($0) ? $0 : nil } }
            let used = UInt128(taken.filter { ip in set.contains { $0.contains(ip) } }.count + Set(gateways).count)
            if used >= size {
                let ranges = set.map { "\($0.rangeStart)-\($0.rangeEnd)" }.joined(separator: ", ")
                throw CNIError(.pluginNotAvailable, "no addresses left in range set \(ranges)")
            }
        }
    }
}

import Agent
import Testing
import WeftNet

@Suite struct OverlayReconcilerTests {
    /// A fake node `a` whose InternalIPs sit on 1500-byte interfaces.
    func makeKernel() -> FakeOverlayKernel {
        FakeOverlayKernel(underlayMTU: [ip("192.168.0.1"): 1500, ip("fd00:192::1"): 1500])
    }

    func reconciler(_ kernel: FakeOverlayKernel, _ mode: OverlayMode, vni: UInt32 = 1) -> OverlayReconciler {
        OverlayReconciler(nodeName: "a", configuration: OverlayConfiguration(mode: mode, vni: vni), kernel: kernel)
    }

    @Test(arguments: OverlayMode.allCases)
    func appliesThePlanAndNothingWhenNothingChanged(mode: OverlayMode) throws {
        let kernel = makeKernel()
        let r = reconciler(kernel, mode)
        let first = try r.reconcile(dualStackNodes())
        #expect(kernel.state == first.plan.state)
        #expect(kernel.applied == first.changes)
        #expect(first.changes.count == (mode == .vxlan ? 2 + 2 + 4 * 3 : 4))
        let second = try r.reconcile(dualStackNodes())
        #expect(second.changes.isEmpty)
        #expect(kernel.applied == first.changes, "nothing rewritten")
    }

    @Test func aJoiningNodeAddsOnlyItsEntries() throws {
        let kernel = makeKernel()
        let r = reconciler(kernel, .vxlan)
        try r.reconcile(dualStackNodes(["a", "b"]))
        let joined = try r.reconcile(dualStackNodes(["a", "b", "c"]))
        let cMAC4 = MACAddress.vtep(underlay: ip("192.168.0.3"))
        let cMAC6 = MACAddress.vtep(underlay: ip("fd00:192::3"))
        #expect(
            joined.changes == [
                // In text order: IPv6 VTEP MACs start with 0a, IPv4 ones with 0e.
                .setFDB(OverlayFDBEntry(device: "weft.vxlan6", mac: cMAC6, destination: ip("fd00:192::3"))),
                .setFDB(OverlayFDBEntry(device: "weft.vxlan4", mac: cMAC4, destination: ip("192.168.0.3"))),
                .setNeighbour(OverlayNeighbour(device: "weft.vxlan4", address: ip("10.244.3.0"), mac: cMAC4)),
                .setNeighbour(OverlayNeighbour(device: "weft.vxlan6", address: ip("fd00:10:244:3::"), mac: cMAC6)),
                .addRoute(
                    OverlayRoute(
                        destination: prefix("10.244.3.0/24"), gateway: ip("10.244.3.0"), device: "weft.vxlan4",
                        onlink: true)),
                .addRoute(
                    OverlayRoute(
                        destination: prefix("fd00:10:244:3::/64"), gateway: ip("fd00:10:244:3::"),
                        device: "weft.vxlan6", onlink: true)),
            ])
        #expect(kernel.state == joined.plan.state)
    }

    @Test func aLeavingNodeRemovesOnlyItsEntries() throws {
        let kernel = makeKernel()
        let r = reconciler(kernel, .vxlan)
        let before = try r.reconcile(dualStackNodes(["a", "b", "c"]))
        let left = try r.reconcile(dualStackNodes(["a", "b"]))
        #expect(left.changes.count == 6)
        #expect(
            left.changes.allSatisfy {
                switch $0 {
                case .deleteRoute(let route): route.destination.address.description.contains("3")
                case .deleteFDB(let e): e.destination == ip("192.168.0.3") || e.destination == ip("fd00:192::3")
                case .deleteNeighbour(let n): n.address == ip("10.244.3.0") || n.address == ip("fd00:10:244:3::")
                default: false
                }
            })
        #expect(kernel.state == left.plan.state)
        #expect(kernel.state.devices == before.plan.state.devices)
    }

    @Test func aChangedAddressOrPodCIDRReplacesThePeersEntries() throws {
        let kernel = makeKernel()
        let r = reconciler(kernel, .vxlan)
        try r.reconcile(dualStackNodes())
        var nodes = dualStackNodes()
        nodes[1].internalIPs[.v4] = ip("192.168.0.20")
        nodes[2].podCIDRs[.v4] = prefix("10.244.30.0/24")
        let changed = try r.reconcile(nodes)
        let oldB = MACAddress.vtep(underlay: ip("192.168.0.2"))
        let newB = MACAddress.vtep(underlay: ip("192.168.0.20"))
        let cMAC = MACAddress.vtep(underlay: ip("192.168.0.3"))
        #expect(
            Set(changed.changes) == [
                .deleteRoute(
                    OverlayRoute(
                        destination: prefix("10.244.3.0/24"), gateway: ip("10.244.3.0"), device: "weft.vxlan4",
                        onlink: true)),
                .deleteNeighbour(OverlayNeighbour(device: "weft.vxlan4", address: ip("10.244.3.0"), mac: cMAC)),
                .deleteFDB(OverlayFDBEntry(device: "weft.vxlan4", mac: oldB, destination: ip("192.168.0.2"))),
                .setFDB(OverlayFDBEntry(device: "weft.vxlan4", mac: newB, destination: ip("192.168.0.20"))),
                .setNeighbour(OverlayNeighbour(device: "weft.vxlan4", address: ip("10.244.2.0"), mac: newB)),
                .setNeighbour(OverlayNeighbour(device: "weft.vxlan4", address: ip("10.244.30.0"), mac: cMAC)),
                .addRoute(
                    OverlayRoute(
                        destination: prefix("10.244.30.0/24"), gateway: ip("10.244.30.0"), device: "weft.vxlan4",
                        onlink: true)),
            ])
        #expect(kernel.state == changed.plan.state)

        let hostGW = makeKernel()
        let h = reconciler(hostGW, .hostGW)
        try h.reconcile(dualStackNodes())
        var moved = dualStackNodes()
        moved[1].internalIPs[.v6] = ip("fd00:192::22")
        #expect(
            try h.reconcile(moved).changes == [
                .replaceRoute(OverlayRoute(destination: prefix("fd00:10:244:2::/64"), gateway: ip("fd00:192::22")))
            ])
    }

    @Test func switchingModeReplacesRoutesAndDeletesTheDevices() throws {
        let kernel = makeKernel()
        try reconciler(kernel, .vxlan).reconcile(dualStackNodes())
        let switched = try reconciler(kernel, .hostGW).reconcile(dualStackNodes())
        // The devices take their FDB and neighbour entries and routes with them: no one-by-one deletes.
        #expect(switched.changes.filter { if case .deleteDevice = $0 { true } else { false } }.count == 2)
        #expect(switched.changes.filter { if case .addRoute = $0 { true } else { false } }.count == 4)
        #expect(switched.changes.count == 6)
        #expect(kernel.state == switched.plan.state)
        let back = try reconciler(kernel, .vxlan).reconcile(dualStackNodes())
        #expect(back.changes.filter { if case .replaceRoute = $0 { true } else { false } }.count == 4)
        #expect(kernel.state == back.plan.state)
    }

    @Test func anIncompatibleDeviceIsRecreatedWithItsEntries() throws {
        let kernel = makeKernel()
        try reconciler(kernel, .vxlan).reconcile(dualStackNodes())
        let report = try reconciler(kernel, .vxlan, vni: 7).reconcile(dualStackNodes())
        #expect(report.changes.filter { if case .deleteDevice = $0 { true } else { false } }.count == 2)
        #expect(report.changes.filter { if case .createDevice = $0 { true } else { false } }.count == 2)
        #expect(report.changes.count == 2 + 2 + 2 + 4 * 3)
        #expect(kernel.state == report.plan.state)
        #expect(kernel.state.devices.values.allSatisfy { $0.vni == 7 })
    }

    @Test func driftIsRepairedPieceByPiece() throws {
        let kernel = makeKernel()
        let r = reconciler(kernel, .vxlan)
        let first = try r.reconcile(dualStackNodes())
        let lost = prefix("10.244.2.0/24")
        kernel.with { c in
            c.state.routes[lost] = nil
            c.state.devices["weft.vxlan6"]?.mtu = 1280
            c.state.devices["weft.vxlan4"]?.isUp = false
            c.state.addresses["weft.vxlan4"]?.insert(prefix("10.9.9.9/32"))
        }
        let repaired = try r.reconcile(dualStackNodes())
        #expect(
            repaired.changes == [
                .setUp(device: "weft.vxlan4"),
                .deleteAddress(device: "weft.vxlan4", prefix("10.9.9.9/32")),
                .setMTU(device: "weft.vxlan6", mtu: 1430),
                .addRoute(first.plan.state.routes[lost]!),
            ])
        #expect(kernel.state == first.plan.state)
    }

    @Test func aFailingChangeDoesNotHoldUpTheOthers() throws {
        let kernel = makeKernel()
        kernel.with { $0.foreignRoutes = [prefix("10.244.2.0/24")] }
        let r = reconciler(kernel, .hostGW)
        let error = try #require(throws: OverlayReconcileError.self) { try r.reconcile(dualStackNodes()) }
        #expect(error.failures.count == 1)
        #expect(
            error.failures.first?.change
                == .addRoute(OverlayRoute(destination: prefix("10.244.2.0/24"), gateway: ip("192.168.0.2"))))
        #expect(error.report.failures == 1)
        #expect(kernel.state.routes.count == 3)
        #expect(kernel.with { $0.foreignRoutes } == [prefix("10.244.2.0/24")], "the foreign route stays")
    }

    @Test func aForeignLinkWithTheDevicesNameIsNotTaken() throws {
        let kernel = makeKernel()
        kernel.with { $0.foreignLinks = ["weft.vxlan4"] }
        let error = try #require(throws: OverlayReconcileError.self) {
            try reconciler(kernel, .vxlan).reconcile(dualStackNodes())
        }
        #expect(error.failures.contains { $0.change == .createDevice(error.report.plan.state.devices["weft.vxlan4"]!) })
        #expect(kernel.state.devices.keys.sorted() == ["weft.vxlan6"])
        #expect(kernel.state.routes.keys.allSatisfy { $0.family == .v6 })
    }

    @Test func withoutPeersEverythingOwnedIsRemoved() throws {
        let kernel = makeKernel()
        let r = reconciler(kernel, .vxlan)
        try r.reconcile(dualStackNodes())
        let alone = try r.reconcile(dualStackNodes(["a"]))
        #expect(kernel.state.routes.isEmpty && kernel.state.fdb.isEmpty && kernel.state.neighbours.isEmpty)
        #expect(kernel.state.devices.count == 2, "the devices stay while the node has addresses")
        #expect(alone.changes.count == 4 * 3)
    }
}

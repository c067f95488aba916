import WeftNet

/// The kernel as the overlay reconciler sees it: what the agent owns, and one change at a time. The only part of
/// the agent that touches the kernel; ``NetlinkOverlayKernel`` implements it, tests use an in-memory fake.
public protocol OverlayKernel: Sendable {
    /// What the agent owns now: its VXLAN devices (the links with the agent's alias) with their global addresses,
    /// their permanent neighbour entries and their FDB entries with a destination, and the routes of the main
    /// table with the agent's routing protocol.
    func observe() throws -> OverlayState

    /// The MTU of the interface that holds `address`, or nil when no interface does.
    func underlayMTU(of address: IPAddress) throws -> Int?

    /// Applies one change. A change that would touch a link the agent does not own fails without touching it.
    func apply(_ change: OverlayChange) throws
}

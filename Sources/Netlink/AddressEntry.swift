import WeftNet

/// An address assigned to an interface (`RTM_NEWADDR`).
public struct AddressEntry: Sendable, Hashable, CustomStringConvertible {
    /// Interface index.
    public var index: Int32
    /// The local address with its prefix length, e.g. `10.22.0.5/24`.
    public var prefix: IPPrefix
    /// `ifa_scope` (0 universe, 253 link, 254 host).
    public var scope: UInt8
    /// `IFA_FLAGS` (or `ifa_flags`): `IFA_F_NODAD` 0x02, `IFA_F_TENTATIVE` 0x40, `IFA_F_PERMANENT` 0x80, …
    public var flags: UInt32

    public init(index: Int32, prefix: IPPrefix, scope: UInt8 = 0, flags: UInt32 = 0) {
        self.index = index
        self.prefix = prefix
        self.scope = scope
        self.flags = flags
    }

    /// `IFA_F_NODAD`.
    public static let flagNoDAD: UInt32 = 0x02
    /// `IFA_F_TENTATIVE`: duplicate address detection has not finished.
    public static let flagTentative: UInt32 = 0x40
    /// `IFA_F_PERMANENT`: configured, not learned from autoconfiguration.
    public static let flagPermanent: UInt32 = 0x80

    public var description: String { "\(prefix) dev \(index) scope \(scope) flags 0x\(String(flags, radix: 16))" }
}

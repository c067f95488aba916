import WeftNet

extension MACAddress {
    /// The VTEP MAC of the node whose underlay address is `underlay`, derived rather than published.
    ///
    /// Every agent computes every peer's MAC from the peer's InternalIP, so a peer is programmed as soon as its
    /// Node object has an address and a pod CIDR: no annotation to write (no write access to Nodes needed, no
    /// second round of events) and nothing to go stale when an agent restarts. Locally administered unicast:
    /// IPv4 `0e:57:` + the four address bytes (readable, and distinct for distinct addresses); IPv6 `0a:` + 40 bits
    /// of a 64-bit hash of the address (FNV-1a, then MurmurHash3's finaliser): peers in different subnets often
    /// share interface identifiers, so the low bytes alone would collide.
    public static func vtep(underlay: IPAddress) -> MACAddress {
        switch underlay {
        case .v4(let address):
            return MACAddress(bytes: [0x0e, 0x57] + address.bytes)!
        case .v6(let address):
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in address.bytes {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            // FNV-1a alone barely mixes the last byte into the middle bits; MurmurHash3's finaliser spreads it.
            hash ^= hash >> 33
            hash &*= 0xff51_afd7_ed55_8ccd
            hash ^= hash >> 33
            hash &*= 0xc4ce_b9fe_1a85_ec53
            hash ^= hash >> 33
            return MACAddress(bytes: [0x0a] + (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * $0)) })!
        }
    }
}

/// The nftables table the policy enforcer owns on each node (one table, as the service proxy owns `weft-proxy`).
public enum PolicyTable {
    public static let name = "weft-policy"
}

import NFTables

/// What one service puts in the proxy's table: elements of the shared sets and maps, and — only for the few
/// features that need per-flow state (session affinity) — chains and sets of its own.
public struct ProxyObjects: Sendable, Equatable {
    /// Elements of the skeleton's sets and maps; several services may need the same one.
    public var elements: [Element] = []
    /// Sets only this service uses (made before its chains, which name them).
    public var sets: [NFTSet] = []
    /// Chains only this service uses, with their rule bodies in order.
    public var chains: [OwnedChain] = []

    public init(elements: [Element] = [], sets: [NFTSet] = [], chains: [OwnedChain] = []) {
        self.elements = elements
        self.sets = sets
        self.chains = chains
    }

    /// A chain and its rules.
    public struct OwnedChain: Sendable, Equatable {
        public var chain: Chain
        public var rules: [String]

        public init(chain: Chain, rules: [String]) {
            self.chain = chain
            self.rules = rules
        }
    }

    public var isEmpty: Bool { elements.isEmpty && sets.isEmpty && chains.isEmpty }

    public static func + (a: Self, b: Self) -> Self {
        ProxyObjects(elements: a.elements + b.elements, sets: a.sets + b.sets, chains: a.chains + b.chains)
    }
}

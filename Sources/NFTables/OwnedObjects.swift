/// What one owner (a service of the proxy, the compiled policies) puts in a table beyond its fixed skeleton:
/// elements of the skeleton's sets and maps, and sets and chains of its own, as the kernel-state diffs of
/// `ServiceProxy` and `Policy` take them.
public struct OwnedObjects: Sendable, Equatable {
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
        OwnedObjects(elements: a.elements + b.elements, sets: a.sets + b.sets, chains: a.chains + b.chains)
    }
}

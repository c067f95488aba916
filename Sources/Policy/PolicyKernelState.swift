import NFTables

/// What the kernel's policy table holds beyond its skeleton, so that a sync changes only what differs: `update`
/// takes the objects of the new compiled state and returns the operations from the old one, for one transaction.
///
/// A pod coming, going or changing labels changes elements only (the verdict-map entry of a local pod, the peer
/// sets it is in), unless it makes or empties a pod group, which adds or deletes that group's chain and sets. A
/// policy's change rewrites the rules of the chains of the groups it is in. Pure.
public struct PolicyKernelState: Sendable {
    struct ElementID: Hashable, Sendable {
        var set: String
        var key: String
    }

    private var elements: [ElementID: Element] = [:]
    private var sets: [String: NFTSet] = [:]
    private var chains: [String: OwnedObjects.OwnedChain] = [:]

    public init() {}

    /// How many elements, sets and chains the table holds beyond its skeleton.
    public var counts: (elements: Int, sets: Int, chains: Int) { (elements.count, sets.count, chains.count) }

    /// Moves to `objects` and returns the operations, in an order the kernel takes in one transaction: element
    /// deletes (not those of sets that go: they go with their set); changed and gone chains flushed (which drops
    /// their references to sets and chains); gone chains, then gone sets deleted; new sets and chains added, then
    /// the rules of new and changed chains; element adds last (a verdict-map entry names its chain).
    public mutating func update(to objects: OwnedObjects) -> Transaction {
        var newElements: [ElementID: Element] = [:]
        for element in objects.elements { newElements[ElementID(set: element.set, key: element.key)] = element }
        var newSets: [String: NFTSet] = [:]
        for set in objects.sets { newSets[set.name] = set }
        var newChains: [String: OwnedObjects.OwnedChain] = [:]
        for chain in objects.chains { newChains[chain.chain.name] = chain }

        var tx = Transaction()
        let order = { (a: Element, b: Element) in (a.set, a.key) < (b.set, b.key) }
        let goneSets = sets.filter { newSets[$0.key] != $0.value }
        var deletes: [Element] = []
        for (id, element) in elements where goneSets[id.set] == nil {
            if let replacement = newElements[id], replacement.value == element.value { continue }
            deletes.append(element)
        }
        for element in deletes.sorted(by: order) { tx.delete(element) }

        let changed = chains.keys.filter { newChains[$0] != nil && newChains[$0] != chains[$0] }
        let gone = chains.keys.filter { newChains[$0] == nil }
        for name in (changed + gone).sorted() { tx.flush(chains[name]!.chain) }
        for name in gone.sorted() { tx.delete(chains[name]!.chain) }
        for name in goneSets.keys.sorted() { tx.delete(goneSets[name]!) }
        for (name, set) in newSets.sorted(by: { $0.key < $1.key }) where sets[name] != set { tx.add(set) }
        let added = newChains.keys.filter { chains[$0] == nil }
        for name in added.sorted() { tx.add(newChains[name]!.chain) }
        for name in (added + changed).sorted() {
            let owned = newChains[name]!
            for body in owned.rules {
                tx.add(Rule(family: owned.chain.family, table: owned.chain.table, chain: name, body: body))
            }
        }
        var adds: [Element] = []
        for (id, element) in newElements {
            if let previous = elements[id], previous.value == element.value, goneSets[id.set] == nil { continue }
            adds.append(element)
        }
        for element in adds.sorted(by: order) { tx.add(element) }

        elements = newElements
        sets = newSets
        chains = newChains
        return tx
    }

    /// Forgets everything (the table is made again by a full sync).
    public mutating func reset() {
        elements = [:]
        sets = [:]
        chains = [:]
    }
}

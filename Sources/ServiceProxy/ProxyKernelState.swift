import NFTables

/// What the kernel's proxy table holds beyond its skeleton, per service, so that a sync touches only the services
/// that changed: replacing one service's objects yields the operations that take the kernel from the old state to
/// the new one. Elements several services share (a hairpin entry for an endpoint two services select) are counted
/// and deleted only when no service needs them any more; a service's own chains and sets are its alone (their
/// names are derived from everything in their definition, so a set is never redefined in place). Pure.
public struct ProxyKernelState: Sendable {
    struct ElementID: Hashable, Sendable {
        var set: String
        var key: String
    }

    private struct Owned: Sendable {
        var elements: [ElementID: Element] = [:]
        var sets: [String: NFTSet] = [:]
        var chains: [String: OwnedObjects.OwnedChain] = [:]
    }

    private var byService: [String: Owned] = [:]
    private var users: [ElementID: Int] = [:]

    public init() {}

    /// How many distinct elements of the shared sets and maps the kernel holds.
    public var count: Int { users.count }

    /// How many chains and sets services own.
    public var ownedObjects: Int { byService.values.reduce(0) { $0 + $1.sets.count + $1.chains.count } }

    /// The services with objects.
    public var services: Set<String> { Set(byService.keys) }

    /// Replaces `service`'s objects with `objects` (empty: the service is gone) and returns the operations that
    /// bring the kernel along, in an order the kernel accepts in one transaction: element deletes; chains that
    /// change or go flushed (which drops their references), gone chains then gone sets deleted; new sets, new
    /// chains, then the rules of new and changed chains added; element adds last (a verdict names its chain).
    public mutating func replace(service: String, with objects: OwnedObjects) -> Transaction {
        let old = byService[service] ?? Owned()
        var new = Owned()
        for element in objects.elements { new.elements[ElementID(set: element.set, key: element.key)] = element }
        for set in objects.sets { new.sets[set.name] = set }
        for chain in objects.chains { new.chains[chain.chain.name] = chain }

        var tx = Transaction()
        let order = { (a: Element, b: Element) in (a.set, a.key) < (b.set, b.key) }
        var deletes: [Element] = []
        for (id, element) in old.elements {
            if let replacement = new.elements[id], replacement.value == element.value { continue }
            users[id, default: 1] -= 1
            if users[id] == 0 {
                users[id] = nil
                deletes.append(element)
            }
        }
        for element in deletes.sorted(by: order) { tx.delete(element) }

        let changedChains = old.chains.keys.filter { new.chains[$0] != nil && new.chains[$0] != old.chains[$0] }
        let goneChains = old.chains.keys.filter { new.chains[$0] == nil }
        for name in (changedChains + goneChains).sorted() { tx.flush(old.chains[name]!.chain) }
        for name in goneChains.sorted() { tx.delete(old.chains[name]!.chain) }
        for (name, set) in old.sets.sorted(by: { $0.key < $1.key }) where new.sets[name] != set { tx.delete(set) }
        for (name, set) in new.sets.sorted(by: { $0.key < $1.key }) where old.sets[name] != set { tx.add(set) }
        let newChains = new.chains.keys.filter { old.chains[$0] == nil }
        for name in newChains.sorted() { tx.add(new.chains[name]!.chain) }
        for name in (newChains + changedChains).sorted() {
            let owned = new.chains[name]!
            for body in owned.rules {
                tx.add(Rule(family: owned.chain.family, table: owned.chain.table, chain: name, body: body))
            }
        }

        var adds: [Element] = []
        for (id, element) in new.elements {
            if let previous = old.elements[id], previous.value == element.value { continue }
            let before = users[id] ?? 0
            users[id] = before + 1
            if before == 0 { adds.append(element) }
        }
        for element in adds.sorted(by: order) { tx.add(element) }
        byService[service] = objects.isEmpty ? nil : new
        return tx
    }

    /// Makes room for `services` services with `elements` elements in all (a full sync knows both up front:
    /// growing the dictionaries step by step cost a tenth of a 10,000-service sync).
    public mutating func reserveCapacity(services: Int, elements: Int) {
        byService.reserveCapacity(services)
        users.reserveCapacity(elements)
    }

    /// Forgets everything (after a full sync rebuilt the table, record its services again with `replace`).
    public mutating func reset() {
        byService = [:]
        users = [:]
    }
}

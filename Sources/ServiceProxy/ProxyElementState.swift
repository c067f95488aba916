import NFTables

/// The elements the kernel holds, per service, so that a sync touches only the services that changed: replacing
/// one service's elements yields the deletes and adds that take the kernel from the old state to the new one.
/// Elements several services share (a hairpin entry for an endpoint two services select) are counted and
/// deleted only when no service needs them any more. Pure.
public struct ProxyElementState: Sendable {
    struct ElementID: Hashable, Sendable {
        var set: String
        var key: String
    }

    private var byService: [String: [ElementID: Element]] = [:]
    private var users: [ElementID: Int] = [:]

    public init() {}

    /// How many distinct elements the kernel holds.
    public var count: Int { users.count }

    /// The services with elements.
    public var services: Set<String> { Set(byService.keys) }

    /// Replaces `service`'s elements with `elements` (none: the service is gone); returns the operations that
    /// bring the kernel along — deletes first, then adds, so that a changed map value is a delete and an add of
    /// the same key in one transaction.
    public mutating func replace(service: String, with elements: [Element]) -> Transaction {
        let old = byService[service] ?? [:]
        var new: [ElementID: Element] = [:]
        for element in elements { new[ElementID(set: element.set, key: element.key)] = element }
        var deletes: [Element] = []
        var adds: [Element] = []
        for (id, element) in old {
            if let replacement = new[id], replacement.value == element.value { continue }
            users[id, default: 1] -= 1
            if users[id] == 0 {
                users[id] = nil
                deletes.append(element)
            }
        }
        for (id, element) in new {
            if let previous = old[id], previous.value == element.value { continue }
            let before = users[id] ?? 0
            users[id] = before + 1
            if before == 0 { adds.append(element) }
        }
        byService[service] = new.isEmpty ? nil : new
        var tx = Transaction()
        let order = { (a: Element, b: Element) in (a.set, a.key) < (b.set, b.key) }
        for element in deletes.sorted(by: order) { tx.delete(element) }
        for element in adds.sorted(by: order) { tx.add(element) }
        return tx
    }

    /// Forgets everything (after a full sync rebuilt the table, record its services again with `replace`).
    public mutating func reset() {
        byService = [:]
        users = [:]
    }
}

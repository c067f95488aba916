import KubeModel

/// Gateway API's HTTPHeaderFilter as a value: headers to set (replacing every field of the name), add (appended)
/// and remove, names compared case-insensitively. Used for requests and responses alike.
public struct HeaderModifier: Sendable, Hashable {
    public var set: [HeaderField]
    public var add: [HeaderField]
    public var remove: [String]

    public init(set: [HeaderField] = [], add: [HeaderField] = [], remove: [String] = []) {
        self.set = set
        self.add = add
        self.remove = remove
    }

    init(_ filter: HTTPHeaderFilter) {
        // "If multiple entries specify equivalent header names, the first entry ... MUST be considered."
        func firstOfEachName(_ headers: [HTTPHeader]?) -> [HeaderField] {
            var seen = Set<String>()
            return (headers ?? []).filter { seen.insert($0.name.lowercased()).inserted }.map {
                HeaderField(name: $0.name, value: $0.value)
            }
        }
        self.init(set: firstOfEachName(filter.set), add: firstOfEachName(filter.add), remove: filter.remove ?? [])
    }

    /// Applies set, then add, then remove (the API allows one action per name, so the order only matters for
    /// input the API would reject).
    public func apply(to headers: inout [HeaderField]) {
        for field in set {
            if let first = headers.firstIndex(where: { $0.hasName(field.name) }) {
                headers[first].value = field.value
                let rest = headers.index(after: first)
                headers[rest...].removeAll { $0.hasName(field.name) }
            } else {
                headers.append(field)
            }
        }
        headers += add
        for name in remove { headers.removeAll { $0.hasName(name) } }
    }
}

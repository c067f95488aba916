import Foundation
import KubeModel
import WeftNet

/// The query parameters of a list (kube's `metav1.ListOptions`): `limit` and `continue` for paging,
/// `resourceVersion` and `resourceVersionMatch` for how fresh the answer must be.
///
/// Semantics, from the Kubernetes API concepts page ("Resource versions", "Retrieving large results sets in
/// chunks"): a list is served from the latest state, which satisfies an unset `resourceVersion`, `0` and
/// `NotOlderThan` (a version the store has not reached yet is waited for briefly, then 504 Timeout); `Exact` can
/// only be served for the current version (this store keeps no old snapshots; older ones are 410 Expired, as
/// kube-apiserver answers once etcd has compacted them). A continue token carries the list's resourceVersion and the
/// last key served; later pages report that resourceVersion and hold the objects after that key as they are now
/// (kube-apiserver serves them from the snapshot at that version: an object changed between pages shows its newer
/// state here).
struct ListOptions: Sendable, Equatable {
    var limit: Int?
    var continueFrom: ContinueToken?
    var resourceVersion: Int64?
    var exact = false

    /// Where a previous page ended.
    struct ContinueToken: Sendable, Equatable, Codable {
        /// The resourceVersion of the first page.
        var rv: Int64
        /// The last key served, `namespace/name`.
        var start: String
    }

    init(limit: Int? = nil, continueFrom: ContinueToken? = nil, resourceVersion: Int64? = nil, exact: Bool = false) {
        self.limit = limit
        self.continueFrom = continueFrom
        self.resourceVersion = resourceVersion
        self.exact = exact
    }

    /// Reads the options from a request's query; malformed values are 400 Bad Request, as kube answers them.
    init(query: [String: String]) throws(Status) {
        if let text = query["limit"], !text.isEmpty {
            guard let value = Int(text), value >= 0 else { throw Status.badRequest("invalid limit: \(text)") }
            limit = value == 0 ? nil : value
        }
        let rvText = query["resourceVersion"] ?? ""
        if !rvText.isEmpty {
            guard let value = Int64(rvText), value >= 0 else {
                throw Status.badRequest("invalid resource version: \(rvText)")
            }
            resourceVersion = value
        }
        switch query["resourceVersionMatch"] ?? "" {
        case "": break
        case "Exact", "NotOlderThan":
            guard resourceVersion != nil else {
                throw Status.badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
            }
            exact = query["resourceVersionMatch"] == "Exact"
            if exact && resourceVersion == 0 {
                throw Status.badRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"")
            }
        case let other:
            throw Status.badRequest(
                "resourceVersionMatch: Unsupported value: \"\(other)\": supported values: \"Exact\", \"NotOlderThan\"")
        }
        if let token = query["continue"], !token.isEmpty {
            guard resourceVersion == nil || resourceVersion == 0 else {
                throw Status.badRequest("specifying resource version is not allowed when using continue")
            }
            guard let data = Data(base64Encoded: token),
                let decoded = try? JSONDecoder().decode(ContinueToken.self, from: data)
            else { throw Status.badRequest("continue key is not valid: \(token)") }
            continueFrom = decoded
        }
    }

    /// The token that resumes after `key` of a list at `rv`.
    static func token(rv: Int64, after key: String) -> String {
        let data = (try? JSONEncoder().encode(ContinueToken(rv: rv, start: key))) ?? Data()
        return data.base64EncodedString()
    }

    /// One page of `items` (sorted by namespace and name, all already filtered), and the list metadata: its
    /// resourceVersion, and `continue` with `remainingItemCount` when more items follow.
    func page(_ items: [JSONValue], resourceVersion current: Int64) -> (items: [JSONValue], metadata: JSONValue) {
        let rv = continueFrom?.rv ?? current
        var remaining = items
        if let start = continueFrom?.start {
            // Namespace names have no "/": the first one splits the key.
            let parts = start.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let after = (parts[0], parts.count > 1 ? parts[1] : "")
            remaining = items.filter { Self.key($0) > after }
        }
        var metadata: [String: JSONValue] = ["resourceVersion": .string(String(rv))]
        guard let limit, remaining.count > limit else { return (remaining, .object(metadata)) }
        let page = Array(remaining.prefix(limit))
        let last = Self.key(page[page.count - 1])
        metadata["continue"] = .string(Self.token(rv: rv, after: last.namespace + "/" + last.name))
        metadata["remainingItemCount"] = .number(Double(remaining.count - limit))
        return (page, .object(metadata))
    }

    /// (namespace, name): the order lists are served in.
    static func key(_ object: JSONValue) -> (namespace: String, name: String) {
        (object["metadata"]?["namespace"]?.stringValue ?? "", object["metadata"]?["name"]?.stringValue ?? "")
    }
}

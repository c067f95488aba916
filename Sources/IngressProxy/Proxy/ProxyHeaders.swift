import NIOHTTP1

/// The header rewriting of a reverse proxy: hop-by-hop fields removed in both directions (RFC 9110 §7.6.1),
/// `X-Forwarded-For` appended to, `X-Forwarded-Proto` and `X-Forwarded-Host` set, the upstream `Host` put in,
/// and (Gateway API) response header modifiers applied. Pure functions over header lists.
public enum ProxyHeaders {
    /// Fields that describe one connection, never forwarded.
    public static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// The fields of `headers` that the `Connection` field names, lowercased, with the hop-by-hop ones.
    static func connectionFields(_ headers: HTTPHeaders) -> Set<String> {
        var names = hopByHop
        for value in headers[canonicalForm: "connection"] { names.insert(value.lowercased().trimmed) }
        return names
    }

    /// `headers` without the hop-by-hop fields.
    public static func removingHopByHop(_ headers: HTTPHeaders) -> HTTPHeaders {
        let drop = connectionFields(headers)
        guard headers.contains(where: { drop.contains($0.name.lowercased()) }) else { return headers }
        return HTTPHeaders(headers.filter { !drop.contains($0.name.lowercased()) }.map { ($0.name, $0.value) })
    }

    /// The head fields the proxy sends upstream: `fields` (the client's after the route's filters) without the
    /// client's hop-by-hop fields (`client` names them in its `Connection`), `Host` set to `host`, the
    /// `X-Forwarded-*` fields, and `Connection: Upgrade` with `Upgrade` when passing an upgrade through.
    public static func upstream(
        _ fields: [HeaderField], client: HTTPHeaders, host: String, clientAddress: String?,
        scheme: RoutingRequest.Scheme, originalHost: String, upgrade: String?
    ) -> HTTPHeaders {
        let drop = connectionFields(client).union(["host", "x-forwarded-proto", "x-forwarded-host"])
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 4)
        headers.add(name: "host", value: host)
        var forwardedFor: [String] = []
        for field in fields {
            let name = field.name.lowercased()
            if name == "x-forwarded-for" {
                forwardedFor.append(field.value)
            } else if !drop.contains(name) {
                headers.add(name: field.name, value: field.value)
            }
        }
        if let clientAddress { forwardedFor.append(clientAddress) }
        if !forwardedFor.isEmpty { headers.add(name: "x-forwarded-for", value: forwardedFor.joined(separator: ", ")) }
        headers.add(name: "x-forwarded-proto", value: scheme.rawValue)
        if !originalHost.isEmpty { headers.add(name: "x-forwarded-host", value: originalHost) }
        if let upgrade {
            headers.add(name: "connection", value: "upgrade")
            headers.add(name: "upgrade", value: upgrade)
        }
        return headers
    }

    /// The head fields the proxy sends the client: the upstream's without hop-by-hop fields (but `Connection`
    /// and `Upgrade` of a 101 passed through), then `modifiers` in order.
    public static func downstream(_ upstream: HTTPHeaders, modifiers: [HeaderModifier], switching: Bool) -> HTTPHeaders
    {
        var headers =
            switching
            ? HTTPHeaders(upstream.filter { $0.name.lowercased() != "keep-alive" }.map { ($0.name, $0.value) })
            : removingHopByHop(upstream)
        guard !modifiers.isEmpty else { return headers }
        var fields = headers.map { HeaderField(name: $0.name, value: $0.value) }
        for modifier in modifiers { modifier.apply(to: &fields) }
        headers = HTTPHeaders(fields.map { ($0.name, $0.value) })
        return headers
    }
}

extension String {
    fileprivate var trimmed: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

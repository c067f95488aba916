/// What the proxy does with a request.
public enum RouteDecision: Sendable, Hashable {
    /// Send the (rewritten) request to one of `endpoints`.
    case forward(Forward)
    /// Answer with a redirect (RequestRedirect).
    case redirect(status: Int, location: String)
    /// Answer with an error status and a short reason: 404 no route, 500 an invalid Gateway API backend or none,
    /// 503 a missing Service (Ingress) or no ready endpoint.
    case reject(status: Int, reason: String)
}

/// One filter of a Gateway API rule or backendRef, in the order the route lists them.
public enum RouteFilter: Sendable, Hashable {
    case requestHeaders(HeaderModifier)
    case responseHeaders(HeaderModifier)
    case redirect(RequestRedirect)
    case rewrite(URLRewrite)
}

import KubeModel

/// A path rewrite of a URLRewrite or RequestRedirect filter.
public enum PathModifier: Sendable, Hashable {
    case replaceFullPath(String)
    /// Replaces the matched PathPrefix, element-wise (HTTPPathModifier.replacePrefixMatch).
    case replacePrefixMatch(String)

    /// `nil` for an unknown type or a missing value.
    init?(_ modifier: HTTPPathModifier) {
        switch modifier.type {
        case "ReplaceFullPath":
            guard let path = modifier.replaceFullPath else { return nil }
            self = .replaceFullPath(path)
        case "ReplacePrefixMatch":
            guard let replacement = modifier.replacePrefixMatch else { return nil }
            self = .replacePrefixMatch(replacement)
        default: return nil
        }
    }

    /// The new path. `matchedPrefix` is the rule's PathPrefix value; the table in HTTPPathModifier's
    /// documentation fixes the slashes: `/foo/` with prefix `/foo` and replacement `/xyz` is `/xyz/`, with
    /// replacement `` or `/` it is `/`.
    public func apply(to path: String, matchedPrefix: String?) -> String {
        switch self {
        case .replaceFullPath(let replacement): return replacement
        case .replacePrefixMatch(let replacement):
            guard let matchedPrefix, let rest = PathMatch.remainder(of: path, afterPrefix: matchedPrefix) else {
                return path
            }
            let result = PathMatch.trimmingTrailingSlash(replacement) + rest
            return result.isEmpty ? "/" : String(result)
        }
    }
}

import KubeModel

/// Builders for the meta/v1 `Status` bodies kube-apiserver answers, with its reasons and messages.
extension Status {
    /// `pods` or `deployments.apps`: the resource as kube names it in messages.
    static func qualified(_ resource: ResourceInfo) -> String {
        resource.group.isEmpty ? resource.plural : "\(resource.plural).\(resource.group)"
    }

    /// `Pod` or `Deployment.apps`: the kind as kube names it in Invalid messages.
    static func qualifiedKind(_ resource: ResourceInfo) -> String {
        resource.group.isEmpty ? resource.kind : "\(resource.kind).\(resource.group)"
    }

    static func notFound(_ resource: ResourceInfo, name: String) -> Status {
        Status(
            code: 404, reason: "NotFound", message: "\(qualified(resource)) \"\(name)\" not found",
            details: Details(name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.plural))
    }

    static func alreadyExists(_ resource: ResourceInfo, name: String) -> Status {
        Status(
            code: 409, reason: "AlreadyExists", message: "\(qualified(resource)) \"\(name)\" already exists",
            details: Details(name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.plural))
    }

    static func conflict(_ resource: ResourceInfo, name: String, reason: String? = nil) -> Status {
        let why =
            reason ?? "the object has been modified; please apply your changes to the latest version and try again"
        return Status(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(qualified(resource)) \"\(name)\": \(why)",
            details: Details(name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.plural))
    }

    /// 422 Invalid with one cause per field error.
    static func invalid(_ resource: ResourceInfo, name: String, causes: [Cause]) -> Status {
        let text = causes.map { "\($0.field ?? ""): \($0.message ?? "")" }
        let joined = text.count == 1 ? text[0] : "[\(text.joined(separator: ", "))]"
        return Status(
            code: 422, reason: "Invalid", message: "\(qualifiedKind(resource)) \"\(name)\" is invalid: \(joined)",
            details: Details(
                name: name, group: resource.group.isEmpty ? nil : resource.group, kind: resource.kind, causes: causes))
    }

    static func badRequest(_ message: String) -> Status {
        Status(code: 400, reason: "BadRequest", message: message)
    }

    static func unauthorized() -> Status {
        Status(code: 401, reason: "Unauthorized", message: "Unauthorized")
    }

    static func methodNotAllowed(_ method: String, _ path: String) -> Status {
        Status(
            code: 405, reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource (\(method) \(path))")
    }

    /// 404 for a path that names no resource.
    static func resourceNotFound() -> Status {
        Status(
            code: 404, reason: "NotFound", message: "the server could not find the requested resource",
            details: Details())
    }

    static func requestEntityTooLarge(limit: Int) -> Status {
        Status(
            code: 413, reason: "RequestEntityTooLarge",
            message: "the request body exceeds the limit of \(limit) bytes")
    }

    static func unsupportedMediaType(_ contentType: String, accepted: [String]) -> Status {
        Status(
            code: 415, reason: "UnsupportedMediaType",
            message: "the body of the request was in an unknown format - accepted media types include: "
                + accepted.joined(separator: ", "))
    }

    /// 410 Gone for a watch or list from a resourceVersion the server no longer has.
    static func expired(requested: Int64, oldest: Int64) -> Status {
        Status(code: 410, reason: "Expired", message: "too old resource version: \(requested) (\(oldest))")
    }

    /// 504 Timeout for a watch or list from a resourceVersion the server has not reached.
    static func tooLargeResourceVersion(requested: Int64, current: Int64) -> Status {
        Status(
            code: 504, reason: "Timeout",
            message: "Too large resource version: \(requested), current: \(current)",
            details: Details(
                causes: [Cause(reason: "ResourceVersionTooLarge", message: "Too large resource version")]))
    }

    static func internalError(_ message: String) -> Status {
        Status(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }

    /// A successful Status (`{"status":"Success"}`), as some deletes answer.
    static func success(details: Details? = nil) -> Status {
        var status = Status(code: 200, reason: "", message: "")
        status.status = "Success"
        status.reason = nil
        status.message = nil
        status.details = details
        return status
    }
}

import Foundation
import Hummingbird
import KubeModel
import WeftNet

extension APIHandler {
    /// The `/scale` subresource of an object (`Registry+Scale`): GET, PUT and PATCH (what `kubectl scale` sends:
    /// a merge patch of `spec.replicas`, or with preconditions a GET and a PUT).
    func scale(_ request: Request, _ resource: ResourceInfo, namespace: String?, name: String) async throws -> Response
    {
        switch request.method {
        case .get:
            return Self.json(try await registry.scale(resource, namespace: namespace, name: name))
        case .put:
            let body = try await Self.readJSON(request, limit: maxBodySize)
            return Self.json(try await registry.updateScale(resource, namespace: namespace, name: name, body: body))
        case .patch:
            let contentType = (request.headers[.contentType] ?? "").split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            guard let contentType, let kind = Patching.Kind(rawValue: contentType) else {
                throw Status.unsupportedMediaType(
                    request.headers[.contentType] ?? "", accepted: Patching.Kind.allCases.map(\.rawValue))
            }
            let body = try await Self.readJSON(request, limit: maxBodySize, checkContentType: false)
            return Self.json(
                try await registry.patchScale(resource, namespace: namespace, name: name, kind: kind, patch: body))
        default:
            throw Status.methodNotAllowed(request.method.rawValue, request.uri.path)
        }
    }
}

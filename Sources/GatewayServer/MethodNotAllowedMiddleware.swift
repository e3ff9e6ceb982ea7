import HTTPTypes
import Hummingbird

/// Answers 405 `method-not-allowed` with an `Allow` header for a path the router knows under other
/// methods (Hummingbird answers those 404, as it does an unknown path). Built from the router's
/// own route list once every route is added, so it cannot drift from the routes; it acts only on
/// the router's not-found answer.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    /// Each route path with the methods it answers.
    let routes: [(path: RouterPath, methods: [HTTPRequest.Method])]

    init(routes: [Router<GatewayContext>.RouteDescription]) {
        var grouped: [(path: RouterPath, methods: [HTTPRequest.Method])] = []
        for route in routes {
            if let index = grouped.firstIndex(where: { $0.path == route.path }) {
                grouped[index].methods.append(route.method)
            } else {
                grouped.append((route.path, [route.method]))
            }
        }
        self.routes = grouped
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = allowedMethods(path: request.uri.path)
            guard !allowed.isEmpty else { throw error }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(
                .methodNotAllowed, "method-not-allowed", "\(request.method.rawValue) is not allowed here; allowed: \(allow)",
                headers: [.allow: allow])
        }
    }

    /// The methods of the routes whose path matches `path`, sorted.
    func allowedMethods(path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods: Set<String> = []
        for route in routes where Self.matches(route.path, segments) {
            methods.formUnion(route.methods.map(\.rawValue))
        }
        return methods.sorted().map { HTTPRequest.Method($0)! }
    }

    static func matches(_ path: RouterPath, _ segments: [Substring]) -> Bool {
        var index = 0
        for element in path.components {
            if element == RouterPath.Element.recursiveWildcard { return true }
            guard index < segments.count, element ~= segments[index] else { return false }
            index += 1
        }
        return index == segments.count
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id (a sane incoming `X-Request-Id`, else a new one) carried in the logs
/// and the answer, authenticates the bearer token (429 without checking it when the client has
/// presented too many invalid ones: `SignInGuard`), turns every error into the JSON error shape,
/// records the request latency, and logs one line per request (method, route, status, duration:
/// never bodies, query values or tokens). Every line of an authenticated request carries `caller`.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let tokens: TokenStore
    let metrics: GatewayMetrics
    let signIns: SignInGuard

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let requestId = Self.requestId(request.headers[.xRequestID])
        context.requestId = requestId
        context.logger[metadataKey: "requestId"] = .string(requestId)
        var refusal: APIError?
        if let authorization = request.headers[.authorization] {
            if case .refuse(let retryAfter) = signIns.decide(context.remoteAddress) {
                // Not checked at all: a right token would otherwise tell a guess from a miss.
                refusal = .tooManyFailedTokens(retryAfter: retryAfter)
                context.logger.info("token not checked: too many invalid tokens from this client")
            } else {
                let parts = authorization.split(separator: " ", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == "bearer" {
                    context.principal = tokens.principal(token: String(parts[1]).trimmingCharacters(in: .whitespaces))
                }
                if context.principal == nil {
                    context.logger.info("refused token")
                    signIns.failed(context.remoteAddress, logger: context.logger)
                }
            }
        }
        // Who called, on every line of the request (the participant id, or `ops`): never the token.
        switch context.principal {
        case .participant(let id): context.logger[metadataKey: "caller"] = .string(id)
        case .ops: context.logger[metadataKey: "caller"] = "ops"
        case nil: break
        }
        var response: Response
        do {
            if let refusal { throw refusal }
            response = try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["type": .string(String(describing: type(of: error)))])
            }
            response = apiError.response(requestId: requestId)
        }
        response.headers[.xRequestID] = requestId
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        let route = context.endpointPath ?? "unmatched"
        metrics.request(method: request.method.rawValue, route: route, status: response.status.code, nanoseconds: nanoseconds)
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "route": .string(route),
                "status": .stringConvertible(response.status.code), "ms": .stringConvertible(Double(nanoseconds) / 1e6),
            ])
        return response
    }

    /// Up to 64 characters of [A-Za-z0-9._-] from the client, else a fresh UUID.
    static func requestId(_ incoming: String?) -> String {
        if let incoming, !incoming.isEmpty, incoming.utf8.count <= 64,
            incoming.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
        {
            return incoming
        }
        return UUID().uuidString.lowercased()
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}

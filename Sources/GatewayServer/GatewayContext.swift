import Hummingbird
import NIOCore

/// The per-request context: the request id (also in the logger's metadata), who called, and the
/// connection's peer address (what the sign-in rate limit counts by).
public struct GatewayContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestId = ""
    public var principal: Principal?
    public var remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The calling participant; 401 without a token, 403 for the ops token.
    func participant() throws -> String {
        switch principal {
        case .participant(let id): return id
        case .ops: throw APIError.forbidden("the ops token cannot act as a participant")
        case nil: throw APIError.unauthorized()
        }
    }

    /// Passes for the ops token only.
    func requireOps() throws {
        switch principal {
        case .ops: return
        case .participant: throw APIError.forbidden("this endpoint needs the ops token")
        case nil: throw APIError.unauthorized()
        }
    }
}

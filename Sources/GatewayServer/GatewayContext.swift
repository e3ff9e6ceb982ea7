import Hummingbird

/// The per-request context: the request id (also in the logger's metadata) and who called.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestId = ""
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
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

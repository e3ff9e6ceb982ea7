import GatewayModel
import GatewayQueue
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOHTTP1

/// An error the API answers with `{"error":{"code":…,"message":…,"requestId":…}}`. Messages name
/// participants, ids and limits only: never a person's name or ID number, SQL text or a stack.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    static func unauthorized() -> APIError {
        APIError(.unauthorized, "unauthorized", "a valid bearer token is required", headers: [.wwwAuthenticate: "Bearer"])
    }

    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }

    /// 429: this client presented too many invalid tokens (`SignInThrottle`); its token was not checked.
    static func tooManyFailedTokens(retryAfter: Int) -> APIError {
        APIError(
            .tooManyRequests, "too-many-failed-tokens",
            "too many invalid tokens from this address: the token was not checked; retry in \(retryAfter) seconds",
            headers: [.retryAfter: String(retryAfter)])
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad-request", message) }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "body-too-large", "the request body is larger than the limit of \(limit) bytes")
    }

    /// The gateway's refusals, as HTTP.
    static func gateway(_ error: GatewayError) -> APIError {
        switch error {
        case .unknownLease: APIError(.conflict, "unknown-lease", error.description)
        case .leaseMismatch: APIError(.conflict, "lease-mismatch", error.description)
        case .storedEnvelopeUnreadable: APIError(.internalServerError, "internal", error.description)
        case .notFound: APIError(.notFound, "not-found", error.description)
        }
    }

    /// A participant whose certificate may not sign: 409 with the reason as the code (403 when
    /// it has no key on this node at all).
    static func signing(_ error: SigningKeys.Unavailable) -> APIError {
        if error.reason == .noKey { return forbidden(error.description) }
        return APIError(
            .conflict, error.reason.rawValue,
            "\(error): nothing was signed or stored; the alliance PKI must issue \(error.participant) a new key (docs/security.md, re-keying)")
    }

    /// A refusal of the HTTP/1.1 parser: 414 when the request line (`requestLineLength` bytes, as
    /// far as it was received) passed the decoder's field limit, 431 when the header section passed
    /// its limits, else 400 naming what was wrong (never the bytes).
    static func parser(_ error: HTTPParserError, requestLineLength: Int = 0) -> APIError {
        let limits = HTTP1Channel.Configuration.DecoderConfiguration()
        let what: String
        switch error {
        case .headerOverflow where requestLineLength > limits.maxHeaderFieldSize:
            return APIError(.uriTooLong, "uri-too-long", "the request line is longer than \(limits.maxHeaderFieldSize) bytes")
        case .headerOverflow:
            return APIError(
                .requestHeaderFieldsTooLarge, "headers-too-large",
                "the request header section is larger than \(limits.maxHeaderListSize) bytes or has more than \(limits.maxHeaderFieldCount) fields")
        case .invalidContentLength: what = "an invalid Content-Length"
        case .unexpectedContentLength: what = "a Content-Length beside another Content-Length or a Transfer-Encoding"
        case .invalidHeaderToken, .invalidCharactersUsed: what = "a character not allowed in a header name or value"
        case .invalidChunkSize: what = "an invalid chunk size"
        case .invalidMethod: what = "an invalid method"
        case .invalidURL: what = "an invalid request target"
        case .invalidVersion: what = "an invalid HTTP version"
        default: what = "a malformed message"
        }
        return badRequest("the request could not be parsed as HTTP/1.1: \(what)")
    }

    /// The queue's refusals, as HTTP; storage failures say nothing of the database's own text.
    static func queue(_ error: QueueError) -> APIError {
        switch error.code {
        case .notFound: APIError(.notFound, error.code.rawValue, error.message)
        case .staleLease, .leaseExpired, .invalidState, .conflict: APIError(.conflict, error.code.rawValue, error.message)
        case .invalidArgument: APIError(.badRequest, error.code.rawValue, error.message)
        default: APIError(.serviceUnavailable, "storage", "the message store is unavailable; retry later")
        }
    }

    /// Any error as an API error: ours as they are, Hummingbird's by status, the rest as 500
    /// without their text (which may hold anything).
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as QueueError: return queue(e)
        case let e as GatewayError: return gateway(e)
        case let e as HTTPParserError: return parser(e)
        case let e as SubmitPipeline.Refusal: return forbidden(e.description)
        case let e as SigningKeys.Unavailable: return signing(e)
        case let e as AttachmentStore.Failure: return attachment(e)
        case let e as any HTTPResponseError:
            switch e.status {
            case .notFound: return APIError(.notFound, "not-found", "no such resource")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "method-not-allowed", "method not allowed on this resource")
            case .contentTooLarge: return APIError(.contentTooLarge, "body-too-large", "the request body is too large")
            default: return APIError(e.status, "http-\(e.status.code)", e.status.reasonPhrase)
            }
        default:
            return APIError(.internalServerError, "internal", "internal error")
        }
    }

    /// Hummingbird's way to answer an error (`RequestMiddleware` answers every error the same way
    /// through `from(_:)`, with the request id it gave the request).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response(requestId: (context as? GatewayContext)?.requestId ?? request.headers[.xRequestID] ?? "")
    }

    func response(requestId: String) -> Response {
        var response = Response.json(json(requestId: requestId), status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}

extension APIError {
    /// The body of every error answer.
    func json(requestId: String) -> JSONValue {
        ["error": ["code": .string(code), "message": .string(message), "requestId": .string(requestId)]]
    }
}

extension Response {
    /// A JSON answer (RFC 8785 canonical text, UTF-8).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        json(bytes: value.canonicalBytes(), status: status)
    }

    static func json(bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers the HTTP/1.1 parser's refusals (a bad or duplicate Content-Length, Content-Length with
/// Transfer-Encoding, a forbidden byte in a header, an oversized URI or header section) in the
/// API's JSON error shape with an `X-Request-Id`, instead of Hummingbird's bare 400.
///
/// It sits after HTTP decoding, as one of the channel's additional handlers, and sees the
/// decoder's `HTTPParserError`:
/// - between requests (a head was malformed), it answers the refusal itself once every earlier
///   request has its answer, with `Connection: close`, and closes: 414 `uri-too-long` when the
///   request line passed the decoder's field limit, 431 `headers-too-large` when the header
///   section did, else 400 `bad-request` naming what was wrong (`APIError.parser`);
/// - inside a request (a malformed chunked body), it passes the refusal on as an `APIError`, so
///   the route reading the body answers it as every other error; a route that answered without
///   reading the body (401) gets no second answer: the connection is closed.
///
/// The decoder reports an oversized request line and an oversized header alike (`headerOverflow`);
/// its companion `LineWatcher`, which it puts before the decoder, measures the request line, which
/// tells the two apart.
final class ParserErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let watcher = LineWatcher()
    /// A head has arrived whose end has not.
    private var inRequest = false
    /// Heads passed on whose answer has not ended yet.
    private var unanswered = 0
    /// A refusal waiting for the answers to the requests before it.
    private var deferred: APIError?

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            try? pipeline.addHandler(watcher, position: .before(decoder))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inRequest = true
            unanswered += 1
        case .body:
            break
        case .end:
            inRequest = false
            watcher.messageEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        if isEnd {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0, let refusal = deferred {
                deferred = nil
                answer(refusal, context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let refusal = APIError.parser(parserError, requestLineLength: watcher.requestLineLength)
        if inRequest {
            context.fireErrorCaught(refusal)
        } else if unanswered > 0 {
            deferred = refusal
        } else {
            answer(refusal, context: context)
        }
    }

    /// Writes the refusal as the connection's last answer, then closes it.
    private func answer(_ refusal: APIError, context: ChannelHandlerContext) {
        let requestId = RequestMiddleware.requestId(nil)
        let body = refusal.json(requestId: requestId).canonicalBytes()
        var fields: HTTPFields = [
            .contentType: "application/json", .contentLength: String(body.count), .connection: "close", .xRequestID: requestId,
        ]
        for field in refusal.headers { fields.append(field) }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: refusal.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }

    /// Before the HTTP decoder: measures the first line of the request being received (up to its
    /// line feed, or as far as it has arrived); the rest of a request, body included, it does not
    /// scan.
    final class LineWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer

        private(set) var requestLineLength = 0
        private var requestLineDone = false

        /// A request ended: the next bytes begin a new request line. (Requests pipelined in one
        /// read are measured from the next read on; that can only turn a 414 into a 431.)
        func messageEnded() {
            requestLineLength = 0
            requestLineDone = false
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !requestLineDone {
                let bytes = unwrapInboundIn(data).readableBytesView
                if let lineFeed = bytes.firstIndex(of: 0x0A) {
                    requestLineLength += bytes.distance(from: bytes.startIndex, to: lineFeed)
                    requestLineDone = true
                } else {
                    requestLineLength += bytes.count
                }
            }
            context.fireChannelRead(data)
        }
    }
}

@available(*, unavailable)
extension ParserErrorHandler: Sendable {}

@available(*, unavailable)
extension ParserErrorHandler.LineWatcher: Sendable {}

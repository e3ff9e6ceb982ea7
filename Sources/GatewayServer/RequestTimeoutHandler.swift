import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request (head to end of body) takes longer than `timeout` to arrive.
///
/// Hummingbird's idle timeout (`HTTP1Channel.Configuration.idleTimeout`) closes a connection that
/// sends no complete request head in time, or pauses between body parts for that long; a client
/// that trickles a body a byte at a time resets it with every part. This handler bounds the whole
/// request: it starts the clock at the head and stops it at the end, whatever arrives between.
/// It sits after HTTP decoding, as one of the channel's additional handlers, and only watches.
final class RequestTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: timeout) {
                loopBound.value.close(promise: nil)
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable)
extension RequestTimeoutHandler: Sendable {}

import AsyncHTTPClient
import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// This node as a client of its peers (federation.md, "Node-to-node API"): async-http-client with
/// this node's certificate, TLS 1.3, the peer's chain checked against the TLS root.
///
/// async-http-client exposes neither the peer's certificate nor a verification callback, so the
/// peer's *identity* (its URI and the directory's pin) is checked by `probe`: a TLS handshake with
/// swift-nio-ssl's client handler to the same address, whose verification callback sees the
/// certificate. The forwarders probe a peer before their first transfer and again at least every
/// `probeInterval`, and whenever a transfer failed; a peer that fails the probe gets nothing.
final class PeerClient: Sendable {
    let tls: NodeTLS
    let http: HTTPClient
    let probeInterval: Duration
    /// The most a probe's TLS handshake may take once connected: a peer that accepts the TCP
    /// connection and never answers (or answers too slowly) fails the probe, it does not hold the
    /// forwarder.
    let probeTimeout: TimeAmount
    /// The most a TCP connect to a peer may take (a probe's, and async-http-client's).
    static let connectTimeout: TimeAmount = .seconds(5)
    /// The default `probeTimeout`.
    static let defaultProbeTimeout: TimeAmount = .seconds(10)
    /// The most one request to a peer may take (connect, send, answer); ample for a batch (at most
    /// 200 envelopes).
    static let requestTimeout: TimeAmount = .seconds(20)
    /// The most all the calls of one forwarder transfer may take together (its deadline): a probe
    /// (connect and handshake) and one request's timeout. The forwarders' outbox lease is this plus
    /// a margin to settle the answer (`Forwarders.leaseSeconds`), so a transfer never outlasts it.
    static let transferTimeout: TimeAmount = connectTimeout + defaultProbeTimeout + requestTimeout
    private let probed = Mutex<[String: (pin: String, at: ContinuousClock.Instant)]>([:])

    init(tls: NodeTLS, probeInterval: Duration = .seconds(60), probeTimeout: TimeAmount = PeerClient.defaultProbeTimeout) {
        self.tls = tls
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls.clientConfiguration(), redirectConfiguration: .disallow,
            timeout: .init(connect: Self.connectTimeout, read: Self.requestTimeout))
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    /// A failed call to a peer: no answer, or an answer that is not the contract's.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// POSTs a JSON body; returns the status and the body (at most 32 MiB). The probe, if one is
    /// due, and the request end by `deadline` when one is given (each by its own timeout anyway).
    func post(_ peer: DirectoryNode, path: String, body: [UInt8], deadline: ContinuousClock.Instant? = nil) async throws -> (status: Int, body: [UInt8]) {
        try await ensureIdentified(peer, deadline: deadline)
        var request = HTTPClientRequest(url: peer.url.trimmingSuffix("/") + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        return try await execute(request, peer: peer, deadline: deadline)
    }

    func get(_ peer: DirectoryNode, path: String, deadline: ContinuousClock.Instant? = nil) async throws -> (status: Int, body: [UInt8]) {
        try await ensureIdentified(peer, deadline: deadline)
        let request = HTTPClientRequest(url: peer.url.trimmingSuffix("/") + path)
        return try await execute(request, peer: peer, deadline: deadline)
    }

    /// What is left of `deadline` for a call that may take at most `limit` (all of `limit`
    /// without a deadline); a failure when nothing is left.
    static func remaining(_ limit: TimeAmount, before deadline: ContinuousClock.Instant?, peer: DirectoryNode) throws -> TimeAmount {
        guard let deadline else { return limit }
        let left = (deadline - ContinuousClock.now).timeAmount
        guard left > .zero else { throw Failure(description: "\(peer.url): the transfer's deadline passed") }
        return min(limit, left)
    }

    private func execute(_ request: HTTPClientRequest, peer: DirectoryNode, deadline: ContinuousClock.Instant?) async throws -> (status: Int, body: [UInt8]) {
        let timeout = try Self.remaining(Self.requestTimeout, before: deadline, peer: peer)
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 32 << 20)
            return (Int(response.status.code), Array(body.readableBytesView))
        } catch {
            forget(peer)
            throw Failure(description: "\(peer.url): \(Self.describe(error))")
        }
    }

    /// Forgets a peer's identification (after a failure, so that the next call probes again).
    func forget(_ peer: DirectoryNode) {
        _ = probed.withLock { $0.removeValue(forKey: peer.id) }
    }

    /// Probes `peer` unless a probe of the same pins succeeded within `probeInterval`.
    func ensureIdentified(_ peer: DirectoryNode, deadline: ContinuousClock.Instant? = nil) async throws {
        let now = ContinuousClock.now
        let recent = probed.withLock { $0[peer.id] }
        if let recent, now - recent.at < probeInterval, peer.isPinned(recent.pin) { return }
        let pin = try await probe(peer, deadline: deadline)
        probed.withLock { $0[peer.id] = (pin, now) }
    }

    /// One TLS handshake to `peer`'s address: the chain passes the TLS root and CRL, and the
    /// certificate is the one the directory pins for that node. Returns the pin seen.
    func probe(_ peer: DirectoryNode, directorySerial: Int = 0, deadline: ContinuousClock.Instant? = nil) async throws -> String {
        guard let url = URLComponents(string: peer.url), let host = url.host, !host.isEmpty else {
            throw Failure(description: "\(peer.url): not a URL with a host")
        }
        let port = url.port ?? 443
        let context = try NIOSSLContext(configuration: tls.clientConfiguration())
        let seen = Mutex<[UInt8]?>(nil)
        let verify = tls.verificationCallback
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(try Self.remaining(Self.connectTimeout, before: deadline, peer: peer))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(
                            context: context, serverHostname: nil,
                            customVerificationCallback: { chain, promise in
                                seen.withLock { $0 = try? chain.first?.toDERBytes() }
                                verify(chain, promise)
                            })
                        try channel.pipeline.syncOperations.addHandler(handler)
                        try channel.pipeline.syncOperations.addHandler(HandshakeCompletion())
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw Failure(description: "\(peer.url): \(Self.describe(error))")
        }
        defer { channel.close(promise: nil) }
        do {
            let completion = try await channel.pipeline.handler(type: HandshakeCompletion.self).get()
            // A peer that never completes the handshake: fail it after `probeTimeout`.
            let timeout = try Self.remaining(probeTimeout, before: deadline, peer: peer)
            let deadline = channel.eventLoop.scheduleTask(in: timeout) {
                completion.done.fail(Failure(description: "no TLS handshake within \(timeout.nanoseconds / 1_000_000) ms"))
                channel.close(promise: nil)
            }
            defer { deadline.cancel() }
            try await completion.done.futureResult.get()
        } catch {
            throw Failure(description: "\(peer.url): the TLS handshake failed (\(Self.describe(error)))")
        }
        guard let der = seen.withLock({ $0 }) else { throw Failure(description: "\(peer.url): no server certificate") }
        switch tls.identify(der, as: peer, serial: directorySerial) {
        case .success: return (try? Certificate(der: der))?.keyId ?? ""
        case .failure(let unknown):
            tls.logger.warning("refused a peer", metadata: ["peer": .string(peer.id), "reason": "unknown-node", "detail": .string(unknown.description)])
            throw Failure(description: "\(peer.url): unknown-node: \(unknown.description)")
        }
    }

    /// A transport error in one line (no stack, no bytes of the peer's answer).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? BoringSSLError { return "TLS: \(error)" }
        return String(describing: type(of: error)) + ": \(error)"
    }
}

/// Completes `done` when the TLS handshake completed, fails it on the first error or on close.
private final class HandshakeCompletion: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Any
    var done: EventLoopPromise<Void>!

    func handlerAdded(context: ChannelHandlerContext) {
        done = context.eventLoop.makePromise()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { done.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(PeerClient.Failure(description: "the connection closed during the handshake"))
        context.fireChannelInactive()
    }

    /// A connection that never came up still completes the promise (a leaked one traps).
    func handlerRemoved(context: ChannelHandlerContext) {
        done.fail(PeerClient.Failure(description: "the connection closed before the handshake"))
    }
}

extension Duration {
    /// This duration as a NIO `TimeAmount` (nanoseconds).
    var timeAmount: TimeAmount {
        .nanoseconds(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000)
    }
}

extension TimeAmount {
    /// This amount as a `Duration`.
    var duration: Duration { .nanoseconds(nanoseconds) }
    /// This amount in seconds.
    var seconds: TimeInterval { TimeInterval(nanoseconds) / 1e9 }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The context of a node-to-node request: the TLS channel (for the peer's certificate) and the
/// peer node it identified (`PeerMiddleware`).
public struct FederationContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel
    var peer: DirectoryNode?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Identifies the calling node by its certificate (URI and pin, `NodeTLS.identify`) before any
/// route runs: 403 `unknown-node` otherwise. Every error is answered in the API's JSON shape.
struct PeerMiddleware: RouterMiddleware {
    typealias Context = FederationContext
    let tls: NodeTLS
    let directory: NodeDirectory
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: FederationContext, next: (Request, FederationContext) async throws -> Response) async throws -> Response {
        var context = context
        do {
            guard let certificate = try await context.channel.nioSSL_peerCertificate().get(), let der = try? certificate.toDERBytes() else {
                throw APIError(.forbidden, "unknown-node", "no client certificate")
            }
            switch tls.identify(der, in: directory.current) {
            case .success(let peer):
                context.peer = peer
            case .failure(let unknown):
                tls.logger.warning("refused a peer", metadata: ["reason": "unknown-node", "detail": .string(unknown.description)])
                throw APIError(.forbidden, "unknown-node", unknown.description)
            }
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            return apiError.response(requestId: request.headers[.xRequestID] ?? "")
        }
    }
}

/// The node-to-node listener (federation.md, "Node-to-node API"), on `node.federation.port`: TLS
/// 1.3 with a client certificate required (chain and TLS CRL in the handshake), the peer
/// identified by its pin, the envelope and receipt transfers and the node's public state.
func buildFederationApplication(gateway: Gateway, directory: NodeDirectory, tls: NodeTLS, logger: Logger) throws
    -> Application<RouterResponder<FederationContext>>
{
    let router = Router(context: FederationContext.self)
    router.add(middleware: PeerMiddleware(tls: tls, directory: directory, metrics: gateway.metrics))
    addFederationRoutes(to: router, gateway: gateway, directory: directory, tls: tls)
    let node = directory.node
    return Application(
        router: router,
        server: try .tls(
            .http1(configuration: .init(idleTimeout: .seconds(Int64(gateway.configuration.idleTimeoutSeconds)))),
            configuration: TLSChannelConfiguration(
                tlsConfiguration: tls.serverConfiguration(), customVerificationCallback: tls.verificationCallback)),
        configuration: ApplicationConfiguration(
            address: .hostname(node.federation.listen, port: node.federation.port), serverName: "xgw-node"),
        onServerRunning: { channel in
            logger.notice(
                "node-to-node listener ready",
                metadata: ["node": .string(node.id), "port": .string("\(channel.localAddress?.port ?? node.federation.port)")])
        },
        logger: logger)
}

/// What a node runs beside its office API: the node-to-node listener and one forwarder per peer.
/// Nothing without a `node` section.
func federationServices(gateway: Gateway, logger: Logger) throws -> [any Service] {
    guard let directory = gateway.directory, let tls = gateway.nodeTLS else { return [] }
    let listener = try buildFederationApplication(gateway: gateway, directory: directory, tls: tls, logger: logger)
    let forwarders = Forwarders(gateway: gateway, directory: directory, client: PeerClient(tls: tls), state: gateway.peers)
    return [listener, forwarders]
}

/// The office API's server: HTTP/1.1, over TLS (1.2 or 1.3) when the configuration has `tls`.
func officeServer(_ configuration: ServerConfiguration, http1: HTTP1Channel.Configuration) throws -> HTTPServerBuilder {
    guard let tls = configuration.tls else { return .http1(configuration: http1) }
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    do {
        chain = try NIOSSLCertificate.fromPEMFile(tls.certificate)
    } catch {
        throw ServerConfigurationError("\(tls.certificate): the office API's TLS certificate cannot be read")
    }
    do {
        key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
    } catch {
        throw ServerConfigurationError("\(tls.key): the office API's TLS key cannot be read")
    }
    var settings = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    settings.minimumTLSVersion = .tlsv12
    return try .tls(.http1(configuration: http1), tlsConfiguration: settings)
}

/// `GET /v1/ops/peers` on the office API (ops token): the federation health object; and
/// `POST /v1/ops/dead-letters/{messageId}/discard`.
func addPeerRoutes(to router: Router<GatewayContext>, gateway: Gateway) {
    router.get("v1/ops/peers") { _, context in
        try context.requireOps()
        return Response.json(try await gateway.federationHealth())
    }
    // A dead letter given up (an outbox's holds its record's later revisions until replayed or this).
    router.post("v1/ops/dead-letters/:messageId/discard") { _, context in
        try context.requireOps()
        guard let id = context.parameters.get("messageId", as: Int64.self) else {
            throw APIError.badRequest("the message id must be an integer")
        }
        let discarded = try await gateway.discard(messageId: id)
        gateway.auditOps("discard", messageId: id, logger: context.logger)
        return Response.json(discarded)
    }
}

/// Limits of the node-to-node API (federation.md, "Requests and errors").
enum FederationLimits {
    static let maxBodyBytes = 16 << 20
    static let maxItems = 1000
}

func addFederationRoutes(to router: Router<FederationContext>, gateway: Gateway, directory: NodeDirectory, tls: NodeTLS) {
    let federation = router.group("v1/federation")
    federation.post("envelopes") { request, context in
        let items = try await federationItems(request, member: "envelopes")
        let peer = context.peer!
        let results = try await gateway.receiveEnvelopes(items, from: peer)
        return Response.json(["directorySerial": .number(JSONNumber(directory.current.serial)), "results": .array(results)])
    }
    federation.post("receipts") { request, context in
        let items = try await federationItems(request, member: "receipts")
        let peer = context.peer!
        let results = try await gateway.receiveReceipts(items, from: peer)
        return Response.json(["directorySerial": .number(JSONNumber(directory.current.serial)), "results": .array(results)])
    }
    federation.get("directory") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: directory.signedBytes)))
    }
    federation.get("crl") { _, _ in
        try pemResponse(path: PKIDirectory(path: gateway.configuration.pkiPath).crlPath)
    }
    federation.get("tls-crl") { _, _ in
        try pemResponse(path: tls.crlPath)
    }
    federation.get("health") { _, _ in
        Response.json(try await gateway.federationHealth())
    }
}

private func pemResponse(path: String) throws -> Response {
    guard let bytes = FileManager.default.contents(atPath: path) else {
        throw APIError(.notFound, "not-found", "this node holds no such CRL")
    }
    return Response(
        status: .ok, headers: [.contentType: "application/pkix-crl"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// The items of a transfer body: a Content-Length (411), at most 16 MiB (413 `too-large`), a JSON
/// object whose `member` is an array (400 `malformed-request`) of at most 1000 items (413 `too-many`).
func federationItems(_ request: Request, member: String) async throws -> [JSONValue] {
    guard let length = request.headers[.contentLength].flatMap({ Int($0) }) else {
        throw APIError(.lengthRequired, "length-required", "a Content-Length is required")
    }
    guard length <= FederationLimits.maxBodyBytes else {
        throw APIError(.contentTooLarge, "too-large", "the body is larger than \(FederationLimits.maxBodyBytes) bytes")
    }
    var collected: [UInt8] = []
    collected.reserveCapacity(length)
    for try await buffer in request.body {
        guard collected.count + buffer.readableBytes <= FederationLimits.maxBodyBytes else {
            throw APIError(.contentTooLarge, "too-large", "the body is larger than \(FederationLimits.maxBodyBytes) bytes")
        }
        collected.append(contentsOf: buffer.readableBytesView)
    }
    guard let value = try? JSONParser.parse(collected), let items = value.objectValue?[member]?.arrayValue else {
        throw APIError(.badRequest, "malformed-request", "the body must be a JSON object with an array \(member)")
    }
    guard items.count <= FederationLimits.maxItems else {
        throw APIError(.contentTooLarge, "too-many", "at most \(FederationLimits.maxItems) \(member) per request")
    }
    return items
}

import Foundation
import GatewayModel
import GatewayQueue
import GatewaySigning
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// Builds the gateway application (shared by `xgw serve` and tests, Hummingbird style): opens the
/// gateway (creating the PKI, tokens and database on first start), the `/v1` API, `/healthz`,
/// `/readyz`, `/metrics`, and the retention job. `onServerRunning` receives the bound port.
public func buildApplication(
    configuration: ServerConfiguration, logger: Logger, metrics: GatewayMetrics = GatewayMetrics(),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> (application: Application<RouterResponder<GatewayContext>>, gateway: Gateway) {
    let gateway = try Gateway(configuration: configuration, metrics: metrics, logger: logger)
    let router = Router(context: GatewayContext.self)
    // One count of invalid tokens per client for the API and the console's sign-in.
    let signIns = SignInGuard()
    router.add(middleware: RequestMiddleware(tokens: gateway.tokens, metrics: metrics, signIns: signIns))
    addRoutes(to: router, gateway: gateway)
    addPeerRoutes(to: router, gateway: gateway)
    addInboxRoutes(to: router, gateway: gateway)
    addBatchAckRoutes(to: router, gateway: gateway)
    addAttachmentRoutes(to: router, gateway: gateway)
    try addConsoleRoutes(to: router, gateway: gateway, signIns: signIns)
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
    raiseDescriptorLimit(logger: logger)
    let requestTimeout = TimeAmount.nanoseconds(Int64(configuration.requestTimeoutSeconds * 1e9))
    let application = Application(
        router: router,
        server: try officeServer(
            configuration,
            http1: .init(
                additionalChannelHandlers: [RequestTimeoutHandler(timeout: requestTimeout), ParserErrorHandler()],
                idleTimeout: .nanoseconds(Int64(configuration.idleTimeoutSeconds * 1e9)))),
        configuration: ApplicationConfiguration(address: .hostname(configuration.listen, port: configuration.port), serverName: "xgw"),
        services: (gateway.queueService.map { [$0] } ?? []) + [RetentionService(gateway: gateway), CertificateWatch(gateway: gateway), Connectors(gateway: gateway)]
            + [HangupReload(gateway: gateway)] + (gateway.directory.map { [DirectoryWatch(directory: $0)] } ?? [])
            + (try federationServices(gateway: gateway, logger: logger)),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
    return (application, gateway)
}

/// Raises the soft limit of open descriptors to the hard limit (as Go's runtime does), so that
/// the connection count a server can hold is the system's, not the shell's default of 1024.
func raiseDescriptorLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    let before = limit.rlim_cur
    limit.rlim_cur = limit.rlim_max
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
        logger.debug("raised the open-descriptor limit", metadata: ["from": "\(before)", "to": "\(limit.rlim_max)"])
    }
}

/// Logs a warning for every hosted participant whose certificate may not sign or expires within
/// `certificateWarningDays`: at start, then daily.
struct CertificateWatch: Service {
    let gateway: Gateway
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for warning in gateway.certificateWarnings() {
                    gateway.logger.warning(
                        "a signing certificate needs attention",
                        metadata: [
                            "participant": .string(warning["participant"]?.stringValue ?? ""),
                            "problem": .string(warning["problem"]?.stringValue ?? ""),
                            "notAfter": .string(warning["notAfter"]?.stringValue ?? ""),
                        ])
                }
                try? await Task.sleep(for: .seconds(86_400))
            }
        }
    }
}

/// Archives and purges acked messages past the retention (`Gateway.purgeExpired`), hourly, until
/// shutdown; starts once the queue is ready (a PostgreSQL queue may still be connecting or migrating).
struct RetentionService: Service {
    let gateway: Gateway
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if (try? await gateway.queue.ping()) != nil { break }
            }
            while !Task.isCancelled {
                do {
                    try await gateway.purgeExpired()
                } catch {
                    gateway.logger.error(
                        "retention purge failed (what is not archived stays in the queue); retried in an hour",
                        metadata: ["error": .string("\(error)"), "archive": .string(gateway.configuration.archivePath)])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}

func addRoutes(to router: Router<GatewayContext>, gateway: Gateway) {
    let maxBody = gateway.configuration.maxBodyBytes

    router.get("/healthz") { _, _ in
        // Alive whatever the certificates say; what needs attention is listed (`warnings`).
        let warnings = gateway.certificateWarnings()
        var health = JSONObject(["status": "ok"])
        if !warnings.isEmpty { health["warnings"] = .array(warnings) }
        if let directory = gateway.directory {
            // Node mode: which node this is and the directory it holds (stale: past nextUpdate, still applied).
            health["node"] = .string(directory.node.id)
            health["directorySerial"] = .number(JSONNumber(directory.current.serial))
            health["directoryStale"] = .bool(directory.isStale())
        }
        return Response.json(.object(health))
    }
    router.get("/readyz") { _, _ in
        do {
            try await gateway.queue.ping()
        } catch {
            throw APIError(.serviceUnavailable, "not-ready", "the message store is unreachable")
        }
        return Response.json(["status": "ready"])
    }
    router.get("/metrics") { _, _ in
        _ = try? await gateway.queueDepths()
        _ = gateway.certificateWarnings()
        await gateway.refreshReadTimeMetrics()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: gateway.metrics.exposition())))
    }

    let v1 = router.group("v1")
    v1.post("documents") { request, context in
        let submitter = try context.participant()
        let body = try await readBody(request, limit: maxBody)
        let mapping = request.uri.queryParameters.get("mapping")
        let outcome = try await gateway.submit(body, mappingID: mapping, submitter: submitter)
        gateway.auditSubmit(outcome, submitter: submitter, logger: context.logger)
        // 422 when nothing will be delivered, so that a client that checks only the status
        // does not take a fully rejected document for a delivered one (same body either way).
        return Response.json(outcome.json(), status: outcome.nothingAccepted ? .unprocessableContent : .ok)
    }
    v1.post("inbox/lease") { request, context in
        let participant = try context.participant()
        let body = try await jsonBody(request, limit: 64 << 10, optional: true)
        let max = try integer(body?["max"], name: "max", default: 10, range: 1...gateway.configuration.maxLease)
        let visibility = try integer(body?["visibilitySeconds"], name: "visibilitySeconds", default: 60, range: 1...86_400)
        let format = try leaseFormat(body?["format"], gateway: gateway)
        return Response.json(try await gateway.lease(
            participant: participant, max: max, visibility: TimeInterval(visibility), format: format, logger: context.logger))
    }
    v1.post("inbox/:envelopeId/ack") { request, context in
        let participant = try context.participant()
        let envelopeId = try context.parameters.require("envelopeId")
        guard let body = try await jsonBody(request, limit: 64 << 10, optional: false),
            let token = body["leaseToken"]?.stringValue
        else { throw APIError.badRequest("the body must be a JSON object with leaseToken") }
        let outcome = try ackOutcome(name: body["outcome"]?.stringValue, reason: body["reason"]?.stringValue)
        return Response.json(
            try await gateway.ack(participant: participant, envelopeId: envelopeId, leaseToken: token, outcome: outcome, logger: context.logger))
    }
    v1.get("receipts") { request, context in
        let participant = try context.participant()
        let since = try date(request.uri.queryParameters.get("since"), name: "since") ?? .distantPast
        let limit = try integer(
            request.uri.queryParameters.get("limit").map { JSONValue.number(JSONNumber(uncheckedText: $0)) }, name: "limit",
            default: 1000, range: 1...10_000)
        let after = try ReceiptCursor.query(after: request.uri.queryParameters.get("after"), since: request.uri.queryParameters.get("since"))
        let receipts = try await gateway.receipts(submitter: participant, since: since, after: after, limit: limit)
        gateway.auditReceipts(receipts, participant: participant, logger: context.logger)
        return Response.json(receipts)
    }
    v1.get("messages/:envelopeId/history") { _, context in
        guard let principal = context.principal else { throw APIError.unauthorized() }
        let envelopeId = try context.parameters.require("envelopeId")
        return Response.json(try await gateway.history(envelopeId: envelopeId, principal: principal))
    }
    v1.get("ops/queues") { _, context in
        try context.requireOps()
        return Response.json(try await gateway.queueDepths())
    }
    v1.get("ops/dead-letters") { request, context in
        try context.requireOps()
        let participant = request.uri.queryParameters.get("participant")
        if let participant, gateway.seeds.participant(participant) == nil, !gateway.peerOutboxes.contains(participant) {
            throw APIError(.notFound, "not-found", "no participant \(participant)")
        }
        return Response.json(try await gateway.deadLetters(participant: participant, limit: 1000))
    }
    v1.post("ops/dead-letters/:messageId/replay") { _, context in
        try context.requireOps()
        guard let id = context.parameters.get("messageId", as: Int64.self) else {
            throw APIError.badRequest("the message id must be an integer")
        }
        let replayed = try await gateway.replay(messageId: id)
        gateway.auditOps("replay", messageId: id, logger: context.logger)
        return Response.json(replayed)
    }
    v1.get("ops/participants") { _, context in
        try context.requireOps()
        return Response.json(gateway.participantsJSON())
    }
}

/// Reads a body up to `limit` bytes: 413 at once when Content-Length says more, or as soon as
/// the streamed bytes pass the limit (the rest is never buffered).
func readBody(_ request: Request, limit: Int) async throws -> [UInt8] {
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
        throw APIError.tooLarge(limit)
    }
    var collected: [UInt8] = []
    // One allocation of the announced size, not a doubling array (a 16 MiB body would peak at 24 MiB).
    if let length = request.headers[.contentLength].flatMap({ Int($0) }) { collected.reserveCapacity(length) }
    for try await buffer in request.body {
        guard collected.count + buffer.readableBytes <= limit else { throw APIError.tooLarge(limit) }
        collected.append(contentsOf: buffer.readableBytesView)
    }
    return collected
}

func jsonBody(_ request: Request, limit: Int, optional: Bool) async throws -> JSONValue? {
    let bytes = try await readBody(request, limit: limit)
    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
        if optional { return nil }
        throw APIError.badRequest("a JSON body is required")
    }
    guard let value = try? JSONParser.parse(bytes), value.objectValue != nil else {
        throw APIError.badRequest("the body must be a JSON object")
    }
    return value
}

func integer(_ value: JSONValue?, name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
    guard let value, !value.isNull else { return fallback }
    guard let n = value.numberValue?.intValue, range.contains(n) else {
        throw APIError.badRequest("\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
    }
    return n
}

/// An RFC 3339 date-time of a real calendar day (2023-02-30 is refused, not rolled over).
func date(_ text: String?, name: String) throws -> Date? {
    guard let text, !text.isEmpty else { return nil }
    guard let date = Timestamp.date(text) else { throw APIError.badRequest("\(name) must be an RFC 3339 date-time of a real day") }
    return date
}

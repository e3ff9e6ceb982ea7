import AsyncHTTPClient
import Foundation
import GatewayModel
import GatewayQueue
import GatewaySigning
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// The connectors of `xgw serve` (issue 14 item 5): for every hosted participant whose `delivery`
/// has a `connector`, a loop that leases that participant's inbox itself, checks each envelope's
/// signature, renders its record in the participant's format (`renderForDelivery`; the canonical
/// JSON envelope when none is configured), hands the document to the office's system (a file
/// renamed into a folder, or a 2xx to a POST), and only then acks: the ack signs the receipt as a
/// client's ack does, its history naming the rendering.
///
/// A failed hand-over is nacked with its reason: the queue retries it with its back-off and makes it
/// a dead letter after `retry.maxDeliveries`, the last reason kept. A crash between the hand-over and
/// the ack leaves the lease to expire and the message is delivered again: the same file name,
/// overwritten, or the same `Idempotency-Key` (the envelope id), by which the office drops the repeat.
/// An envelope that does not verify is acked `rejected` with the reason code (a signed receipt says
/// so); a record the format cannot carry is a dead letter naming the member, at once.
///
/// Clients may still lease a participant that has a connector: whoever leases a message first
/// delivers it (the queue's lease), so an office can also read its inbox by hand.
struct Connectors: Service {
    let gateway: Gateway
    /// Each hosted participant with a connector.
    let connectors: [(participant: String, connector: Connector)]
    /// Messages leased at once (handed over one after the other).
    var batchSize = 8
    /// How long the loop waits when the inbox is empty before it looks again.
    var idleInterval: Duration = .milliseconds(200)

    init(gateway: Gateway) {
        self.gateway = gateway
        let hosted = Set(gateway.keys.participants)
        connectors = gateway.configuration.participants.sorted { $0.key < $1.key }.compactMap { id, p in
            guard let connector = p.delivery.connector, hosted.contains(id) else { return nil }
            return (id, connector)
        }
    }

    func run() async throws {
        guard !connectors.isEmpty else {
            // Nothing to run; but a service that returns ends the whole service group (the server
            // with it), so wait for the shutdown.
            try? await gracefulShutdown()
            return
        }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        await cancelWhenGracefulShutdown {
            // Start once the queue answers (a PostgreSQL queue may still be connecting or migrating).
            while !Task.isCancelled {
                if (try? await gateway.queue.ping()) != nil { break }
                try? await Task.sleep(for: .seconds(1))
            }
            await withTaskGroup(of: Void.self) { group in
                for (participant, connector) in connectors {
                    gateway.logger.notice(
                        "connector started",
                        metadata: ["participant": .string(participant), "connector": .string(connector.name), "target": .string(connector.target)])
                    group.addTask { await deliver(participant: participant, through: connector, client: client) }
                }
            }
        }
        try? await client.shutdown()
    }

    /// How long a batch stays leased: longer than handing every message of it over can take.
    func visibility(_ connector: Connector) -> TimeInterval {
        switch connector {
        case .fileDrop: 60
        case .httpPush(let push): Double(batchSize) * push.timeoutSeconds + 5
        }
    }

    /// The loop of one participant's connector.
    func deliver(participant: String, through connector: Connector, client: HTTPClient) async {
        var failures = 0
        while !Task.isCancelled {
            let messages = await gateway.leaseNext(participant, max: batchSize, visibility: visibility(connector), idle: idleInterval).messages
            if messages.isEmpty { continue }
            var failed = false
            for message in messages {
                gateway.auditLeased(message, participant: participant, connector: connector.name, logger: gateway.logger)
                if await !handOver(message, participant: participant, through: connector, client: client) { failed = true }
            }
            // The queue backs each failed message off; the loop backs off too, so that an office
            // system that is down costs little.
            failures = failed ? failures + 1 : 0
            if failed {
                let delay = min(30.0, 0.25 * pow(2, Double(min(failures, 10))))
                try? await Task.sleep(for: .seconds(delay * Double.random(in: 0.5..<1)))
            }
        }
    }

    /// Delivers one leased message and settles it; false when the hand-over failed (nacked).
    func handOver(_ message: LeasedMessage, participant: String, through connector: Connector, client: HTTPClient) async -> Bool {
        let queue = gateway.queue
        let metadata: Logger.Metadata = [
            "participant": .string(participant), "connector": .string(connector.name), "envelopeId": .string(message.envelopeId),
        ]
        let document: ConnectorDocument
        switch ConnectorDocument.make(message, participant: participant, gateway: gateway) {
        case .document(let d): document = d
        case .unverified(let code):
            // The office's own check of a delivery: a signed receipt says it was rejected, and why.
            gateway.logger.warning("a connector rejected an envelope that does not verify", metadata: metadata.merging(["reason": .string(code)]) { $1 })
            await settle(message, participant: participant, outcome: .rejected(reason: code), rendering: nil, metadata: metadata)
            return true
        case .refused(let reason):
            gateway.logger.warning("a connector cannot render a record: it is a dead letter", metadata: metadata.merging(["reason": .string(reason)]) { $1 })
            try? await queue.deadLetter(participant: participant, leaseToken: message.leaseToken, reason: reason)
            return true
        }
        do {
            switch connector {
            case .fileDrop(let drop): try ConnectorDocument.drop(document, into: drop.folder)
            case .httpPush(let push): try await push.post(document, client: client)
            }
        } catch {
            let reason = "\(connector.name) to \(connector.target): \(error)"
            gateway.logger.warning("a connector could not deliver; retried with back-off", metadata: metadata.merging(["error": .string(reason)]) { $1 })
            try? await queue.nack(participant: participant, leaseToken: message.leaseToken, error: reason)
            return false
        }
        FailPoint.crash(FailPoint.afterDelivery)
        await settle(message, participant: participant, outcome: .accepted, rendering: document.format, metadata: metadata)
        return true
    }

    /// Acks as a client's ack does (the receipt signed with the participant's key, forwarded in
    /// node mode). A refused ack (the lease ran out during a slow hand-over) leaves the message to
    /// be delivered again.
    func settle(_ message: LeasedMessage, participant: String, outcome: AckOutcome, rendering: String?, metadata: Logger.Metadata) async {
        // The lease as the API's lease leaves it, so that the ack's history names the rendering.
        gateway.leases.put(
            message.leaseToken.rawValue,
            LeaseCache.Lease(
                participant: participant, envelopeId: message.envelopeId, envelope: message.envelope, expiresAt: message.leaseExpiresAt,
                rendering: rendering))
        do {
            _ = try await gateway.ack(
                participant: participant, envelopeId: message.envelopeId, leaseToken: message.leaseToken.rawValue, outcome: outcome)
        } catch {
            gateway.logger.warning(
                "a connector delivered but could not ack; the message will be delivered again",
                metadata: metadata.merging(["error": .string("\(error)")]) { $1 })
        }
    }
}

/// One envelope as a connector hands it over: its record rendered in the participant's format, or
/// the canonical JSON envelope.
struct ConnectorDocument: Sendable {
    var envelopeId: String
    /// The format id, nil for the canonical envelope.
    var format: String?
    var mediaType: String
    var fileExtension: String
    var body: [UInt8]

    enum Made {
        case document(ConnectorDocument)
        /// The envelope does not verify: the reason code of envelope.md.
        case unverified(String)
        /// The record cannot be rendered in the participant's format: why, naming the member.
        case refused(String)
    }

    static func make(_ message: LeasedMessage, participant: String, gateway: Gateway) -> Made {
        guard let json = try? JSONParser.parse(message.envelope), let envelope = try? Envelope(json: json) else {
            return .unverified(VerificationFailure.Code.malformedEnvelope.rawValue)
        }
        // Checked as an office checks what it leased: the signature at the envelope's creation.
        let created = envelope.createdAt.flatMap(Timestamp.date) ?? Date()
        if case .failure(let failure) = envelope.verify(trust: gateway.trust, at: created) { return .unverified(failure.code.rawValue) }
        switch gateway.renderForDelivery(envelope: json, participant: participant) {
        case nil:
            return .document(
                ConnectorDocument(
                    envelopeId: message.envelopeId, format: nil, mediaType: "application/json", fileExtension: "json", body: message.envelope))
        case .rendered(let d)?:
            return .document(
                ConnectorDocument(envelopeId: message.envelopeId, format: d.format, mediaType: d.mediaType, fileExtension: d.fileExtension, body: d.body))
        case .refused(let format, let errors)?:
            return .refused("cannot be rendered as \(format): " + errors.map(\.description).joined(separator: "; "))
        }
    }

    /// `<folder>/<envelopeId>.<ext>`, written as `.<envelopeId>.<ext>.tmp` (a hidden name a poller
    /// skips), fsynced, renamed into place (a redelivery overwrites the same name), and the folder
    /// fsynced so that the rename survives a power cut before the ack is stored.
    static func drop(_ document: ConnectorDocument, into folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let name = document.envelopeId + "." + document.fileExtension
        guard !name.contains("/"), !document.envelopeId.hasPrefix(".") else { throw DropFailure("the envelope id \(document.envelopeId) is not a file name") }
        let path = folder + "/" + name
        let temporary = folder + "/." + name + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DropFailure("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        var failure: String?
        while written < document.body.count {
            let n = document.body.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 {
                failure = "cannot write \(temporary): \(String(cString: strerror(errno)))"
                break
            }
            written += n
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot fsync \(temporary): \(String(cString: strerror(errno)))" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "cannot rename into \(path): \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw DropFailure(failure)
        }
        let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw DropFailure("cannot open \(folder): \(String(cString: strerror(errno)))") }
        defer { close(directory) }
        guard fsync(directory) == 0 else { throw DropFailure("cannot fsync \(folder): \(String(cString: strerror(errno)))") }
    }

    struct DropFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

extension Connector.HTTPPush {
    /// POSTs the document with `Idempotency-Key: <envelopeId>`, `X-Xgw-Envelope-Id` and
    /// `X-Xgw-Format` (the format id or `canonical`); anything but a 2xx within the timeout throws.
    func post(_ document: ConnectorDocument, client: HTTPClient) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: document.mediaType)
        request.headers.replaceOrAdd(name: "Idempotency-Key", value: document.envelopeId)
        request.headers.replaceOrAdd(name: "X-Xgw-Envelope-Id", value: document.envelopeId)
        request.headers.replaceOrAdd(name: "X-Xgw-Format", value: document.format ?? DeliveryRendering.canonical)
        request.body = .bytes(ByteBuffer(bytes: document.body))
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
        // The answer's body is read so that the connection is reused; it is not quoted in the reason
        // (an office's error page may hold anything, personal data included).
        _ = try? await response.body.collect(upTo: 64 << 10)
        guard (200..<300).contains(response.status.code) else {
            throw PushFailure(description: "answered \(response.status.code)")
        }
    }

    struct PushFailure: Error, CustomStringConvertible {
        var description: String
    }
}

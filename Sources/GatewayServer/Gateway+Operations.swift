import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueue
import GatewaySigning
import Logging

extension Gateway {
    /// Translates, validates, signs (with `submitter`'s key), routes and enqueues one document in
    /// one queue transaction (`SubmitPipeline`, which `xgw bench pipeline` measures). Throws
    /// `SigningKeys.Unavailable` before any work when the submitter's certificate may not sign, and
    /// `SubmitPipeline.Refusal` when records of another participant are in the document (nothing
    /// is signed or stored either way).
    public func submit(_ bytes: [UInt8], mappingID: String?, submitter: String) async throws -> SubmitPipeline.Outcome {
        let signer = try keys.signer(for: submitter)
        let outcome = try await pipeline.run(bytes, mappingID: mappingID, submitter: submitter, signer: signer)
        let format = outcome.summary.mapping?.id ?? "unknown"
        metrics.record(format: format, outcome: "accepted", count: outcome.accepted)
        metrics.record(format: format, outcome: "duplicate", count: outcome.duplicates)
        for (code, n) in outcome.rejectedCodes { metrics.record(format: format, outcome: "rejected", code: code, count: n) }
        let records = outcome.accepted + outcome.duplicates + outcome.rejected
        metrics.submissionActivity.record(
            submitter: submitter, format: format, submitted: max(records, outcome.refusedAsWhole ? 1 : 0),
            rejected: records == 0 && outcome.refusedAsWhole ? 1 : outcome.rejected)
        return outcome
    }

    var pipeline: SubmitPipeline {
        // One snapshot of the mappings and routes for the whole document (a SIGHUP may swap them).
        let set = mappingSet.current
        let (translator, routes) = (set.translator, set.routes)
        let batch = configuration.signing.batch
        guard let directory else {
            return SubmitPipeline(translator: translator, routes: routes, queue: queue, attachments: attachments, batchSignatures: batch)
        }
        let current = directory.current
        let here = directory.node.id
        return SubmitPipeline(
            translator: translator, routes: routes, queue: queue, isRoutable: { current.node(hosting: $0) != nil },
            outboxes: { destinations in
                var nodes: [String] = []
                for destination in destinations {
                    if let node = current.node(hosting: destination)?.id, node != here, !nodes.contains(node) { nodes.append(node) }
                }
                return nodes.map(Outbox.destination(node:))
            }, attachments: attachments, batchSignatures: batch)
    }

    /// Leases up to `max` messages of `participant`'s inbox. Beside each envelope, the record
    /// rendered in the participant's format for its kind (`renderForDelivery`; `format`: the lease
    /// request's), as `rendered`, or `renderError` naming the member when it cannot be: a record
    /// that does not render never fails the lease. Logs a `message leased` line per message
    /// (`auditLeased`) to `logger` (the request's).
    public func lease(
        participant: String, max: Int, visibility: TimeInterval, format: String? = nil, logger: Logger? = nil
    ) async throws -> JSONValue {
        let start = ContinuousClock.now
        let messages = try await queue.lease(participant: participant, max: Swift.min(max, configuration.maxLease), visibility: visibility)
        let elapsed = ContinuousClock.now - start
        metrics.lease(
            nanoseconds: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000,
            messages: messages.count)
        leases.sweep(now: Date())
        var out: [JSONValue] = []
        out.reserveCapacity(messages.count)
        for m in messages {
            let envelope = (try? JSONParser.parse(m.envelope)) ?? .null
            let rendering = renderForDelivery(envelope: envelope, participant: participant, requested: format)
            leases.put(
                m.leaseToken.rawValue,
                LeaseCache.Lease(
                    participant: participant, envelopeId: m.envelopeId, envelope: m.envelope, expiresAt: m.leaseExpiresAt,
                    rendering: rendering?.historyDetail))
            var o = JSONObject([
                "messageId": .number(JSONNumber(Int(m.messageId.rawValue))), "envelopeId": .string(m.envelopeId),
                "leaseToken": .string(m.leaseToken.rawValue), "leaseExpiresAt": .string(Timestamp.string(m.leaseExpiresAt)),
                "deliveryCount": .number(JSONNumber(m.deliveryCount)), "submitter": .string(m.submitter),
                "kind": .string(m.kind), "recordId": .string(m.recordId), "envelope": envelope,
            ])
            if let member = rendering?.member { o[member.key] = member.value }
            out.append(.object(o))
        }
        let logger = logger ?? self.logger
        for m in messages { auditLeased(m, participant: participant, logger: logger) }
        return ["messages": .array(out)]
    }

    /// Settles a lease and returns the receipt signed with `participant`'s key. A repeated ack (its
    /// answer lost) answers the receipt stored with the first one when `participant` acked
    /// `envelopeId` with the same outcome; tokens are not kept after an ack, so the repeat is
    /// matched on envelope, participant and outcome. Another outcome is `unknownLease` (409).
    /// Logs `message acked` (envelopeId, recordId, outcome) to `logger` (the request's), or
    /// `ack repeated` when the stored receipt answers.
    public func ack(
        participant: String, envelopeId: String, leaseToken: String, outcome: AckOutcome, logger: Logger? = nil
    ) async throws -> JSONValue {
        let logger = logger ?? self.logger
        guard let lease = try await currentLease(participant: participant, token: leaseToken) else {
            if let receipt = try await storedReceipt(participant: participant, envelopeId: envelopeId, outcome: outcome) {
                auditAck(participant: participant, envelopeId: envelopeId, recordId: nil, outcome: outcome, repeated: true, logger: logger)
                return receipt
            }
            throw GatewayError.unknownLease
        }
        guard lease.envelopeId == envelopeId else {
            throw GatewayError.leaseMismatch
        }
        let signer = try keys.signer(for: participant)
        let envelope: Envelope
        do {
            envelope = try Envelope(json: try JSONParser.parse(lease.envelope))
        } catch {
            throw GatewayError.storedEnvelopeUnreadable
        }
        let receipt = try Receipt.issue(
            for: envelope, by: participant, outcome: outcome.name == "accepted" ? .accepted : .rejected,
            reason: outcome.reason.map { VerificationFailure.Code(rawValue: $0) }, signer: signer)
        let json = receipt.json
        let bytes = json.canonicalBytes()
        let acknowledgement = Acknowledgement(
            leaseToken: LeaseToken(leaseToken), outcome: outcome, receipt: bytes,
            forward: receiptForward(of: envelope, by: participant, receipt: bytes), detail: lease.rendering)
        if let refused = try await queue.ack(participant: participant, [acknowledgement]).first ?? nil {
            // The same ack, sent twice at once: the one that lost the race answers the winner's receipt.
            if let receipt = try await storedReceipt(participant: participant, envelopeId: envelopeId, outcome: outcome) {
                auditAck(participant: participant, envelopeId: envelopeId, recordId: envelope.recordId, outcome: outcome, repeated: true, logger: logger)
                return receipt
            }
            throw refused
        }
        leases.remove(leaseToken)
        auditAck(participant: participant, envelopeId: envelopeId, recordId: envelope.recordId, outcome: outcome, repeated: false, logger: logger)
        return ["receipt": json]
    }

    /// The answer of an earlier ack of `envelopeId` by `participant` with `outcome`: its stored
    /// receipt. Nil when there is none, or it was acked with another outcome.
    func storedReceipt(participant: String, envelopeId: String, outcome: AckOutcome) async throws -> JSONValue? {
        guard let stored = try await queue.receipts(envelopeId: envelopeId).first(where: { $0.destination == participant }),
            stored.outcome == outcome, let bytes = stored.receipt, let receipt = try? JSONParser.parse(bytes)
        else { return nil }
        return ["receipt": receipt]
    }

    /// In node mode, when the envelope's sender is hosted by another node: the receipt goes into
    /// that node's outbox with the ack (one transaction), keyed so that a repeat is idempotent.
    func receiptForward(of envelope: Envelope, by participant: String, receipt: [UInt8]) -> Acknowledgement.Forward? {
        guard let directory, let from = envelope.from, let id = envelope.id,
            let node = directory.current.node(hosting: from)?.id, node != directory.node.id
        else { return nil }
        let item = EnqueueItem(
            envelopeId: Forwarded.receiptId(envelopeId: id, by: participant), kind: Forwarded.receiptKind,
            recordId: Forwarded.receiptId(envelopeId: id, by: participant), updatedAt: Timestamp.string(Date()),
            payloadDigest: Forwarded.digest(receipt), destinations: [Outbox.destination(node: node)], envelope: receipt)
        return Acknowledgement.Forward(submitter: participant, item: item)
    }

    /// Receipts of what `submitter` sent, oldest first: after `cursor` when given, else acked in a
    /// later millisecond than `since`. `next` is the cursor of the last one listed (the cursor
    /// given when none is), each receipt's `cursor` its own.
    public func receipts(submitter: String, since: Date, after cursor: ReceiptCursor? = nil, limit: Int) async throws -> JSONValue {
        let receipts =
            if let cursor {
                try await cursor.page(of: queue, submitter: submitter, limit: limit)
            } else {
                try await queue.receipts(submitter: submitter, since: ReceiptCursor.queueSince(since), limit: limit)
            }
        var answer = JSONObject(["receipts": .array(receipts.map(Self.json))])
        if let next = receipts.last.map(ReceiptCursor.init) ?? cursor { answer["next"] = .string(next.description) }
        return .object(answer)
    }

    static func json(_ r: StoredReceipt) -> JSONValue {
        var o: JSONObject = JSONObject([
            "messageId": .number(JSONNumber(Int(r.messageId.rawValue))), "envelopeId": .string(r.envelopeId),
            "destination": .string(r.destination), "recordId": .string(r.recordId), "outcome": .string(r.outcome.name),
            "ackedAt": .string(Timestamp.string(r.ackedAt)), "cursor": .string(ReceiptCursor(r).description),
        ])
        if let reason = r.outcome.reason { o["reason"] = .string(reason) }
        o["receipt"] = r.receipt.flatMap { try? JSONParser.parse($0) } ?? .null
        return .object(o)
    }

    /// The state history of an envelope's messages: all of it for ops and for its submitter (a
    /// bulletin's issuer); for a destination, the events of its own message only (a bulletin's
    /// recipients do not see each other's acks).
    public func history(envelopeId: String, principal: Principal) async throws -> JSONValue {
        var entries = try await queue.history(envelopeId: envelopeId)
        if case .participant(let id) = principal, try await queue.storedEnvelope(id: envelopeId)?.submitter != id {
            entries = entries.filter { $0.destination == id }
            if entries.isEmpty { throw GatewayError.notFound("no message \(envelopeId) in your inbox") }
        }
        guard !entries.isEmpty else { throw GatewayError.notFound("no message \(envelopeId)") }
        return [
            "envelopeId": .string(envelopeId),
            "history": .array(entries.map { e in
                var o = JSONObject([
                    "messageId": .number(JSONNumber(Int(e.messageId.rawValue))), "destination": .string(e.destination),
                    "event": .string(e.event.rawValue), "at": .string(Timestamp.string(e.at)),
                    "deliveryCount": .number(JSONNumber(e.deliveryCount)),
                ])
                if let d = e.detail { o["detail"] = .string(d) }
                return .object(o)
            }),
        ]
    }

    /// Queue depths per participant (also refreshes the `xgw_queue_depth` gauges).
    public func queueDepths() async throws -> JSONValue {
        let depths = try await queue.depths()
        var out: [JSONValue] = []
        for id in translator.seeds.participants.map(\.id) + depths.keys.sorted() where !out.contains(where: { $0["participant"]?.stringValue == id }) {
            let d = depths[id] ?? QueueDepth()
            for (state, value) in [("queued", d.queued), ("leased", d.leased), ("dead", d.dead), ("acked", d.acked)] {
                metrics.queueDepth(participant: id, state: state, value: value)
            }
            out.append([
                "participant": .string(id), "queued": .number(JSONNumber(d.queued)), "leased": .number(JSONNumber(d.leased)),
                "dead": .number(JSONNumber(d.dead)), "acked": .number(JSONNumber(d.acked)),
            ])
        }
        return ["queues": .array(out)]
    }

    /// The counts of `participant`'s own inbox, read without leasing anything. Counts only: the
    /// queue has no read that lists a destination's messages without leasing them.
    public func inbox(participant: String) async throws -> JSONValue {
        let d = try await queue.depths()[participant] ?? QueueDepth()
        return [
            "participant": .string(participant), "queued": .number(JSONNumber(d.queued)), "leased": .number(JSONNumber(d.leased)),
            "dead": .number(JSONNumber(d.dead)), "acked": .number(JSONNumber(d.acked)),
        ]
    }

    /// The alliance root certificate (`which == .root`) or the current CRL, PEM, as this node
    /// holds them in its PKI folder; nil when the file is missing.
    public func alliancePEM(_ which: AllianceFile) -> [UInt8]? {
        let pki = PKIDirectory(path: configuration.pkiPath)
        return FileManager.default.contents(atPath: which == .root ? pki.caCertificatePath : pki.crlPath).map { Array($0) }
    }

    /// What `alliancePEM` reads.
    public enum AllianceFile: Sendable { case root, crl }

    /// Dead letters of one participant, or of every participant.
    public func deadLetters(participant: String?, limit: Int) async throws -> JSONValue {
        let ids = participant.map { [$0] } ?? (translator.seeds.participants.map(\.id) + peerOutboxes)
        var out: [JSONValue] = []
        for id in ids {
            for d in try await queue.deadLetters(participant: id, limit: limit) {
                var o = JSONObject([
                    "messageId": .number(JSONNumber(Int(d.messageId.rawValue))), "envelopeId": .string(d.envelopeId),
                    "destination": .string(d.destination), "submitter": .string(d.submitter), "recordId": .string(d.recordId),
                    "deliveryCount": .number(JSONNumber(d.deliveryCount)), "diedAt": .string(Timestamp.string(d.diedAt)),
                ])
                if let e = d.lastError { o["lastError"] = .string(e) }
                out.append(.object(o))
            }
        }
        return ["deadLetters": .array(out)]
    }

    /// The outboxes of this node's peers (`node:<id>`); none without a `node` section.
    var peerOutboxes: [String] {
        guard let directory else { return [] }
        return directory.current.nodes.map(\.id).filter { $0 != directory.node.id }.map(Outbox.destination(node:))
    }

    /// Gives up a dead message: acked, rejected `discarded`; at an outbox its record's later
    /// revisions then go to the peer.
    public func discard(messageId: Int64) async throws -> JSONValue {
        try await queue.discard(messageId: MessageID(messageId))
        return ["discarded": .number(JSONNumber(Int(messageId)))]
    }

    public func replay(messageId: Int64) async throws -> JSONValue {
        try await queue.replay(messageId: MessageID(messageId))
        return ["replayed": .number(JSONNumber(Int(messageId)))]
    }

    /// Replays a selection of dead messages in one queue transaction (`MessageQueue.replay(messageIds:)`):
    /// per id, nil when it was replayed, or why not (not found, no longer dead).
    func replay(messageIds: [Int64]) async throws -> [(messageId: Int64, refusal: QueueError?)] {
        let results = try await queue.replay(messageIds: messageIds.map(MessageID.init))
        return Array(zip(messageIds, results)).map { (messageId: $0.0, refusal: $0.1) }
    }

    /// Hosted participants whose certificate may not sign, or expires within
    /// `certificateWarningDays`; refreshes the certificate gauges on the way.
    func certificateWarnings(at time: Date = Date()) -> [JSONValue] {
        var warnings: [JSONValue] = []
        for status in keys.statuses(at: time) {
            let left = status.notAfter.timeIntervalSince(time)
            metrics.certificate(participant: status.participant, secondsToExpiry: left, usable: status.unavailable == nil)
            let problem: String
            if let reason = status.unavailable {
                problem = reason.rawValue
            } else if left < configuration.certificateWarningDays * 86_400 {
                problem = "expires-soon"
            } else {
                continue
            }
            warnings.append([
                "participant": .string(status.participant), "serial": .string(status.serial), "problem": .string(problem),
                "notAfter": .string(Timestamp.string(status.notAfter)),
                "daysLeft": .number(JSONNumber(Int((left / 86_400).rounded(.down)))),
            ])
        }
        return warnings
    }

    /// Participants with their certificates (no keys).
    public func participantsJSON() -> JSONValue {
        let statuses = keys.statuses()
        return .object(JSONObject([
            "participants": .array(translator.seeds.participants.map { p in
                var o = JSONObject([
                    "id": .string(p.id), "kind": .string(p.kind.rawValue), "region": .string(p.region), "name": .string(p.name),
                ])
                if let status = statuses.first(where: { $0.participant == p.id }) {
                    let signer = status.signer, c = signer.certificate
                    o["certificate"] = [
                        "serial": .string(c.serial), "keyId": .string(c.keyId), "algorithm": .string(signer.algorithm.rawValue),
                        "notBefore": .string(Timestamp.string(c.notBefore)), "notAfter": .string(Timestamp.string(c.notAfter)),
                        "status": .string(status.unavailable?.rawValue ?? "valid"),
                        "pem": .string((try? c.pem()).map { String(decoding: $0, as: UTF8.self) } ?? ""),
                    ]
                }
                return .object(o)
            }),
            "ca": .string((try? String(contentsOfFile: PKIDirectory(path: configuration.pkiPath).caCertificatePath, encoding: .utf8)) ?? ""),
        ]))
    }
}

import Foundation
import GatewayModel
import GatewayQueue
import GatewaySigning
import Logging

extension Gateway {
    /// One ack of a batch ack request (`POST /v1/inbox/ack`).
    public struct AckRequest: Sendable {
        public var envelopeId: String
        public var leaseToken: String
        public var outcome: AckOutcome

        public init(envelopeId: String, leaseToken: String, outcome: AckOutcome) {
            self.envelopeId = envelopeId
            self.leaseToken = leaseToken
            self.outcome = outcome
        }
    }

    /// Settles several leases of `participant` in one queue transaction, each as `ack` settles one,
    /// and answers `{"results": [...]}` in the requests' order: per ack `envelopeId` and `status`
    /// (the status the single ack would answer), with `receipt` (200) or `error` (`code`,
    /// `message`). The receipts of the messages settled now are issued as one batch signature
    /// (`signing.batch`; envelope.md, "Batch signatures") when there are two or more. An ack
    /// whose lease is gone answers the receipt stored with its first ack (same outcome), however
    /// that one was signed, else `unknown-lease`. Throws only when nothing could be settled: the
    /// participant's certificate may not sign, or the queue failed.
    public func ack(participant: String, _ requests: [AckRequest], logger: Logger? = nil) async throws -> JSONValue {
        let logger = logger ?? self.logger
        var results = [JSONValue](repeating: .null, count: requests.count)
        struct Live {
            var slot: Int
            var lease: LeaseCache.Lease
            var envelope: Envelope
        }
        var live: [Live] = []
        for (slot, request) in requests.enumerated() {
            guard let lease = try await currentLease(participant: participant, token: request.leaseToken) else {
                results[slot] = try await repeatedAck(participant: participant, request, recordId: nil, logger: logger)
                    ?? Self.ackFailure(request.envelopeId, GatewayError.unknownLease)
                continue
            }
            guard lease.envelopeId == request.envelopeId else {
                results[slot] = Self.ackFailure(request.envelopeId, GatewayError.leaseMismatch)
                continue
            }
            guard let json = try? JSONParser.parse(lease.envelope), let envelope = try? Envelope(json: json) else {
                results[slot] = Self.ackFailure(request.envelopeId, GatewayError.storedEnvelopeUnreadable)
                continue
            }
            live.append(Live(slot: slot, lease: lease, envelope: envelope))
        }
        guard !live.isEmpty else { return ["results": .array(results)] }

        let signer = try keys.signer(for: participant)
        let receipts = try issueReceipts(
            live.map { item in
                let outcome = requests[item.slot].outcome
                return Receipt.BatchItem(
                    envelope: item.envelope, outcome: outcome.name == "accepted" ? .accepted : .rejected,
                    reason: outcome.reason.map { VerificationFailure.Code(rawValue: $0) })
            }, by: participant, signer: signer)
        let bodies = receipts.map { $0.json.canonicalBytes() }
        let acknowledgements = zip(live, bodies).map { item, body in
            Acknowledgement(
                leaseToken: LeaseToken(requests[item.slot].leaseToken), outcome: requests[item.slot].outcome, receipt: body,
                forward: receiptForward(of: item.envelope, by: participant, receipt: body), detail: item.lease.rendering)
        }
        let refusals = try await queue.ack(participant: participant, acknowledgements)
        for (position, item) in live.enumerated() {
            let request = requests[item.slot]
            if let refused = position < refusals.count ? refusals[position] : nil {
                // Settled meanwhile (the same ack twice, here or in another request): the stored receipt answers.
                results[item.slot] = try await repeatedAck(participant: participant, request, recordId: item.envelope.recordId, logger: logger)
                    ?? Self.ackFailure(request.envelopeId, refused)
                continue
            }
            leases.remove(request.leaseToken)
            auditAck(
                participant: participant, envelopeId: request.envelopeId, recordId: item.envelope.recordId, outcome: request.outcome,
                repeated: false, logger: logger)
            results[item.slot] = [
                "envelopeId": .string(request.envelopeId), "status": .number(JSONNumber(200)), "receipt": receipts[position].json,
            ]
        }
        return ["results": .array(results)]
    }

    /// The lease `participant` holds under `token`: one this node granted, or else one another node
    /// (or this one before a restart) granted, which the queue knows; nil when there is none.
    func currentLease(participant: String, token: String) async throws -> LeaseCache.Lease? {
        if let lease = leases.get(token), lease.participant == participant { return lease }
        guard let held = try await queue.leased(participant: participant, leaseToken: LeaseToken(token)) else { return nil }
        // Leased by another node or before a restart: the configured format names the rendering.
        let rendering = (try? JSONParser.parse(held.envelope)).flatMap { renderForDelivery(envelope: $0, participant: participant) }
        return LeaseCache.Lease(
            participant: participant, envelopeId: held.envelopeId, envelope: held.envelope, expiresAt: held.leaseExpiresAt,
            rendering: rendering?.historyDetail)
    }

    /// The receipts of `items`, in order: one batch signature when `signing.batch` and there are
    /// two or more, else one signature each.
    func issueReceipts(_ items: [Receipt.BatchItem], by participant: String, signer: Signer) throws -> [Receipt] {
        if configuration.signing.batch, items.count > 1 {
            return try Receipt.issueBatch(items, by: participant, signer: signer)
        }
        return try items.map { try Receipt.issue(for: $0.envelope, by: participant, outcome: $0.outcome, reason: $0.reason, signer: signer) }
    }

    /// The result of an ack already settled with the same outcome: its stored receipt (audited as
    /// repeated); nil when there is none.
    private func repeatedAck(participant: String, _ request: AckRequest, recordId: String?, logger: Logger) async throws -> JSONValue? {
        guard let stored = try await storedReceipt(participant: participant, envelopeId: request.envelopeId, outcome: request.outcome)
        else { return nil }
        auditAck(
            participant: participant, envelopeId: request.envelopeId, recordId: recordId, outcome: request.outcome, repeated: true,
            logger: logger)
        return ["envelopeId": .string(request.envelopeId), "status": .number(JSONNumber(200)), "receipt": stored["receipt"] ?? .null]
    }

    /// One failed ack of a batch, as the single ack would answer it.
    private static func ackFailure(_ envelopeId: String, _ error: any Error) -> JSONValue {
        let api = APIError.from(error)
        return [
            "envelopeId": .string(envelopeId), "status": .number(JSONNumber(Int(api.status.code))),
            "error": ["code": .string(api.code), "message": .string(api.message)],
        ]
    }
}

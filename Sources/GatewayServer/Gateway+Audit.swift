import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueue
import Logging

/// The audit lines of the office API (issue 16 items 2 and 3): what was done, to which envelopes
/// and records, by whom. The request's logger already carries `requestId` and `caller` (the
/// participant id, or `ops`: `RequestMiddleware`); these lines add ids and codes, never a record's
/// content, a message text or anything else that may hold personal data (recordIds, envelope ids,
/// mapping ids, error codes and JSON Pointers / XPaths of members only).
extension Gateway {
    /// One line per record of a submitted document: `record accepted` (index, recordId,
    /// envelopeId, destinations, duplicate) or `record rejected` (index, recordId when known,
    /// mapping, error codes and member paths); `document rejected` for a document refused whole;
    /// then `document submitted` with the counts.
    func auditSubmit(_ outcome: SubmitPipeline.Outcome, submitter: String, logger: Logger) {
        let mapping: Logger.MetadataValue = .string(outcome.summary.mapping?.id ?? "unknown")
        for entry in outcome.entries {
            switch entry {
            case .enqueued(let index, let recordId, let stored):
                logger.info(
                    "record accepted",
                    metadata: [
                        "submitter": .string(submitter), "mapping": mapping, "index": .stringConvertible(index),
                        "recordId": .string(recordId), "envelopeId": .string(stored.envelopeId),
                        "destinations": .array(stored.destinations.filter { !Outbox.isOutbox($0) }.map { .string($0) }),
                        "duplicate": .stringConvertible(stored.duplicate),
                    ])
            case .rejected(let rejection):
                var metadata: Logger.Metadata = [
                    "submitter": .string(submitter), "mapping": mapping,
                    "codes": .array(rejection.errors.map { .string($0.code.rawValue) }),
                    "paths": .array(rejection.errors.map { .string($0.path ?? $0.source ?? "") }),
                ]
                if let index = rejection.index { metadata["index"] = .stringConvertible(index) }
                if let recordId = rejection.recordId { metadata["recordId"] = .string(recordId) }
                logger.info(rejection.index == nil ? "document rejected" : "record rejected", metadata: metadata)
            }
        }
        logger.info(
            "document submitted",
            metadata: [
                "submitter": .string(submitter), "mapping": mapping, "accepted": .stringConvertible(outcome.accepted),
                "duplicates": .stringConvertible(outcome.duplicates), "rejected": .stringConvertible(outcome.rejected),
            ])
    }

    /// One `message leased` line (participant, envelopeId, messageId, recordId, submitter,
    /// deliveryCount) of a message a client leased (`lease`), or a connector (`Connectors`:
    /// naming it as `connector`).
    func auditLeased(_ message: LeasedMessage, participant: String, connector: String? = nil, logger: Logger) {
        var metadata: Logger.Metadata = [
            "participant": .string(participant), "envelopeId": .string(message.envelopeId),
            "messageId": .string(String(message.messageId.rawValue)), "recordId": .string(message.recordId),
            "submitter": .string(message.submitter), "deliveryCount": .string(String(message.deliveryCount)),
        ]
        if let connector { metadata["connector"] = .string(connector) }
        logger.info("message leased", metadata: metadata)
    }

    /// `message acked` (or `ack repeated`: a repeat answered with the stored receipt): envelopeId,
    /// recordId, outcome and reason code.
    func auditAck(participant: String, envelopeId: String, recordId: String?, outcome: AckOutcome, repeated: Bool, logger: Logger) {
        var metadata: Logger.Metadata = [
            "participant": .string(participant), "envelopeId": .string(envelopeId), "outcome": .string(outcome.name),
        ]
        if let reason = outcome.reason { metadata["reason"] = .string(reason) }
        if let recordId { metadata["recordId"] = .string(recordId) }
        logger.info(repeated ? "ack repeated" : "message acked", metadata: metadata)
    }

    /// `receipts read`: how many, and their envelope ids and record ids.
    func auditReceipts(_ answer: JSONValue, participant: String, logger: Logger) {
        let receipts = answer["receipts"]?.arrayValue ?? []
        logger.info(
            "receipts read",
            metadata: [
                "participant": .string(participant), "count": .stringConvertible(receipts.count),
                "envelopeIds": .array(receipts.map { .string($0["envelopeId"]?.stringValue ?? "") }),
                "recordIds": .array(receipts.map { .string($0["recordId"]?.stringValue ?? "") }),
            ])
    }

    /// An ops action on one message (`replay`, `discard`).
    func auditOps(_ action: String, messageId: Int64, logger: Logger) {
        logger.notice("ops \(action)", metadata: ["action": .string(action), "messageId": .stringConvertible(messageId)])
    }
}

import Foundation
import GatewayModel

extension Envelope {
    /// One record of a batch to seal, with its own recipients.
    public struct BatchItem: Sendable {
        public var record: JSONValue
        public var to: [String]

        public init(record: JSONValue, to: [String]) {
            self.record = record
            self.to = to
        }
    }

    /// Seals canonical records as one batch (envelope.md, "Batch signatures"): each envelope is
    /// built as `seal(record:…)` builds it, and one signature over the batch statement signs them
    /// all; each `signature` carries its `batch` proof. The envelopes come back in `items`' order
    /// (leaf `i` is `items[i]`). Empty for no items.
    /// - Throws: `SigningError.invalidInput` when a record has no kind or recordId (nothing is signed).
    public static func sealBatch(_ items: [BatchItem], from: String, createdAt: Date = Date(), signer: Signer) throws -> [Envelope] {
        let envelopes = try items.map { item in
            let view = item.record.canonicalRecord
            guard let kind = view.kindName, let recordId = view.recordId else {
                throw SigningError(.invalidInput, "the record has no kind or recordId")
            }
            return unsigned(
                payload: item.record, kind: kind, recordId: recordId, from: from, to: item.to, createdAt: createdAt,
                id: UUIDv7.generate(), algorithm: signer.algorithm)
        }
        return try signBatch(envelopes, signer: signer)
    }

    /// `sealBatch` for records that all go to the same recipients.
    public static func sealBatch(records: [JSONValue], from: String, to: [String], createdAt: Date = Date(), signer: Signer) throws -> [Envelope] {
        try sealBatch(records.map { BatchItem(record: $0, to: to) }, from: from, createdAt: createdAt, signer: signer)
    }

    /// Signs envelopes whose headers are already built as one batch, replacing their `signature`
    /// members (the headers must name the signer's digest: `sealBatch` builds them so).
    public static func signBatch(_ envelopes: [Envelope], signer: Signer) throws -> [Envelope] {
        let signatures = try signer.batchSignatures(over: envelopes.map(\.signedBytes))
        return zip(envelopes, signatures).map { envelope, signature in
            var signed = envelope
            signed.signature = signature
            return signed
        }
    }
}

extension Receipt {
    /// One receipt of a batch to issue.
    public struct BatchItem: Sendable {
        public var envelope: Envelope
        public var outcome: Outcome
        /// The reason code of a rejected receipt.
        public var reason: VerificationFailure.Code?

        public init(envelope: Envelope, outcome: Outcome, reason: VerificationFailure.Code? = nil) {
            self.envelope = envelope
            self.outcome = outcome
            self.reason = reason
        }
    }

    /// Issues receipts as one batch, signed once (envelope.md, "Batch signatures"); each receipt is
    /// the one `issue` would make, with a `signature` carrying its `batch` proof, in `items`' order.
    /// - Throws: `SigningError.invalidInput` when an envelope has no id or payload digest (nothing is signed).
    public static func issueBatch(_ items: [BatchItem], by: String, receivedAt: Date = Date(), signer: Signer) throws -> [Receipt] {
        let headers = try items.map { item in
            try header(for: item.envelope, by: by, outcome: item.outcome, reason: item.reason, receivedAt: receivedAt)
        }
        let signatures = try signer.batchSignatures(over: headers.map { JSONValue.object($0).canonicalBytes() })
        return zip(headers, signatures).map { Receipt(header: $0, signature: $1) }
    }
}

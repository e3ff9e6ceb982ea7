import Foundation
import GatewayModel

/// A signed receipt (envelope.md, "Receipt"): the receiving office acknowledges one envelope.
public struct Receipt: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case accepted
        case rejected
    }

    /// The `receipt` member, exactly as received.
    public var header: JSONObject
    public var signature: SignatureBlock

    public init(header: JSONObject, signature: SignatureBlock) {
        self.header = header
        self.signature = signature
    }

    public var envelopeId: String? { header["envelopeId"]?.stringValue }
    public var by: String? { header["by"]?.stringValue }
    public var receivedAt: String? { header["receivedAt"]?.stringValue }
    public var outcome: Outcome? { header["outcome"]?.stringValue.flatMap(Outcome.init(rawValue:)) }
    public var reason: String? { header["reason"]?.stringValue }
    public var payloadDigest: JSONValue? { header["payloadDigest"] }

    /// Signs a receipt for `envelope` on behalf of office `by`. A rejected receipt names its `reason`.
    public static func issue(
        for envelope: Envelope, by: String, outcome: Outcome, reason: VerificationFailure.Code? = nil,
        receivedAt: Date = Date(), signer: Signer
    ) throws -> Receipt {
        let header = try header(for: envelope, by: by, outcome: outcome, reason: reason, receivedAt: receivedAt)
        let signature = try signer.signature(over: JSONValue.object(header).canonicalBytes())
        return Receipt(header: header, signature: signature)
    }

    /// The `receipt` member `issue` signs.
    static func header(
        for envelope: Envelope, by: String, outcome: Outcome, reason: VerificationFailure.Code?, receivedAt: Date
    ) throws -> JSONObject {
        guard let envelopeId = envelope.id, let digest = envelope.payloadDigest else {
            throw SigningError(.invalidInput, "the envelope has no id or payload digest")
        }
        var header = JSONObject([
            "version": 1,
            "envelopeId": .string(envelopeId),
            "payloadDigest": digest,
            "by": .string(by),
            "receivedAt": .string(Timestamp.string(receivedAt)),
            "outcome": .string(outcome.rawValue),
        ])
        if outcome == .rejected { header["reason"] = .string((reason ?? .malformedEnvelope).rawValue) }
        return header
    }

    public init(json: JSONValue) throws(VerificationFailure) {
        guard let object = json.objectValue, let header = object["receipt"]?.objectValue else {
            throw VerificationFailure(.malformedEnvelope, "not a receipt")
        }
        self.init(header: header, signature: try SignatureBlock(json: object["signature"]))
    }

    public var json: JSONValue {
        .object(JSONObject(["receipt": .object(header), "signature": signature.json]))
    }

    /// Verifies the receipt: shape, then the same signature checks as an envelope (single or batch
    /// form) with `by` as the signer identity.
    public func verify(trust: TrustStore, at time: Date = Date()) -> Result<Certificate, VerificationFailure> {
        guard header["version"]?.numberValue?.intValue == 1, envelopeId != nil, let by, receivedAt != nil,
              let outcome, payloadDigest?.objectValue != nil, outcome == .accepted || reason != nil
        else { return .failure(VerificationFailure(.malformedEnvelope, "receipt incomplete")) }
        return signature.verify(message: JSONValue.object(header).canonicalBytes(), signerID: by, trust: trust, at: time)
    }

    /// Whether this receipt acknowledges `envelope` (same id and payload digest).
    public func acknowledges(_ envelope: Envelope) -> Bool {
        envelopeId != nil && envelopeId == envelope.id && payloadDigest == envelope.payloadDigest
    }
}

import Foundation
import GatewayModel
import GatewayQueue
import GatewaySigning

/// The id look-ups and signature checks of a batch of envelopes from a peer, made before
/// `receiveEnvelopes` takes the items in the contract's order: the signatures on every core at once
/// (`Envelope.verifyEach`; one after the other, 200 SM2 signatures would be most of a batch's
/// transfer time), the look-ups of all ids in one query.
struct EnvelopeChecks {
    /// Each item read as an envelope (nil: not an envelope).
    var envelopes: [Envelope?]
    /// By item index: the envelope this node already stores under the item's id.
    var stored: [Int: StoredEnvelope]
    /// By item index: the signature check at its `createdAt`, for every readable envelope with an
    /// id and a `createdAt` that is not stored already (a stored id is a duplicate or a conflict,
    /// decided without verifying again). An item missing here is verified where it is taken.
    var verified: [Int: Result<Certificate, VerificationFailure>]

    /// Reads `items`, looks each id up in the queue and verifies what may be accepted against `trust`.
    static func make(_ items: [JSONValue], queue: any MessageQueue, trust: TrustStore) async throws -> EnvelopeChecks {
        let envelopes = items.map { try? Envelope(json: $0) }
        let stored = try await lookUp(envelopes, in: queue)
        var pending: [(envelope: Envelope, time: Date)] = []
        var indices: [Int] = []
        for (index, envelope) in envelopes.enumerated() where stored[index] == nil {
            guard let envelope, let id = envelope.id, !id.isEmpty else { continue }
            guard let created = envelope.createdAt.flatMap(Timestamp.date) else { continue }
            pending.append((envelope, created))
            indices.append(index)
        }
        let results = await Envelope.verifyEach(pending, trust: trust)
        return EnvelopeChecks(envelopes: envelopes, stored: stored, verified: Dictionary(uniqueKeysWithValues: zip(indices, results)))
    }

    /// The stored envelope of each readable envelope's id, by index: one query for the whole
    /// batch (`MessageQueue.storedEnvelopes(ids:)`).
    static func lookUp(_ envelopes: [Envelope?], in queue: any MessageQueue) async throws -> [Int: StoredEnvelope] {
        let ids = envelopes.enumerated().compactMap { index, envelope in
            envelope?.id.flatMap { $0.isEmpty ? nil : (index, $0) }
        }
        let found = try await queue.storedEnvelopes(ids: ids.map(\.1))
        var stored: [Int: StoredEnvelope] = [:]
        for (index, id) in ids {
            if let kept = found[id] { stored[index] = kept }
        }
        return stored
    }
}

import Foundation
import GatewayModel
import GatewayQueue
import GatewaySigning

/// The id look-ups and signature checks of a batch of envelopes from a peer, made before
/// `receiveEnvelopes` takes the items in the contract's order: the signatures on every core at once
/// (`Envelope.verifyEach`; one after the other, 200 SM2 signatures would be most of a batch's
/// transfer time), the look-ups several at a time.
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

    /// The stored envelope of each readable envelope's id, by index; up to `width` look-ups at
    /// once (each is a short read that mostly waits for the database's reader).
    static func lookUp(_ envelopes: [Envelope?], in queue: any MessageQueue, width: Int = 8) async throws -> [Int: StoredEnvelope] {
        let ids = envelopes.enumerated().compactMap { index, envelope in
            envelope?.id.flatMap { $0.isEmpty ? nil : (index, $0) }
        }
        var stored: [Int: StoredEnvelope] = [:]
        try await withThrowingTaskGroup(of: (Int, StoredEnvelope?).self) { group in
            var next = 0
            func start() {
                let (index, id) = ids[next]
                next += 1
                group.addTask { (index, try await queue.storedEnvelope(id: id)) }
            }
            while next < min(width, ids.count) { start() }
            while let (index, kept) = try await group.next() {
                if let kept { stored[index] = kept }
                if next < ids.count { start() }
            }
        }
        return stored
    }
}

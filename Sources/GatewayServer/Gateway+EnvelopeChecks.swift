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

    /// Reads `items` (each envelope's header and payload serialized with RFC 8785 once, here, for
    /// the signature check, the header comparisons and the bytes stored), looks each id up in the
    /// queue and verifies what may be accepted against `trust`.
    static func make(_ items: [JSONValue], queue: any MessageQueue, trust: TrustStore) async throws -> EnvelopeChecks {
        let envelopes = items.map { item -> Envelope? in
            guard var envelope = try? Envelope(json: item) else { return nil }
            envelope.computeCanonicalBytes()
            return envelope
        }
        let stored = try await lookUp(envelopes, in: queue)
        var pending: [(envelope: Envelope, time: Date)] = []
        var indices: [Int] = []
        for (index, envelope) in envelopes.enumerated() where stored[index] == nil {
            guard let envelope, let id = envelope.id, !id.isEmpty else { continue }
            guard let created = envelope.createdAt.flatMap(Timestamp.date) else { continue }
            pending.append((envelope, created))
            indices.append(index)
        }
        let results = await verify(pending, trust: trust)
        return EnvelopeChecks(envelopes: envelopes, stored: stored, verified: Dictionary(uniqueKeysWithValues: zip(indices, results)))
    }

    /// Verifies `pending` as `Envelope.verifyEach` does, in two rounds so that a batch signature
    /// is checked once: first one envelope of each distinct signature value (on every core), whose
    /// verified batch statements the trust store keeps (`BatchStatementCache`), then the others,
    /// which find their statement there and cost an inclusion path and a payload digest each. In
    /// one round the first envelope on each core would miss the cache together and check the
    /// same statement's signature once per core.
    static func verify(_ pending: [(envelope: Envelope, time: Date)], trust: TrustStore) async -> [Result<Certificate, VerificationFailure>] {
        var seen = Set<String>()
        var first: [Int] = []
        var rest: [Int] = []
        for (index, item) in pending.enumerated() {
            if seen.insert(item.envelope.signature.value).inserted { first.append(index) } else { rest.append(index) }
        }
        guard !rest.isEmpty else { return await Envelope.verifyEach(pending, trust: trust) }
        var results = [Result<Certificate, VerificationFailure>?](repeating: nil, count: pending.count)
        for round in [first, rest] {
            let checked = await Envelope.verifyEach(round.map { pending[$0] }, trust: trust)
            for (index, result) in zip(round, checked) { results[index] = result }
        }
        return results.map { $0 ?? .failure(VerificationFailure(.badSignature, "not verified")) }
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

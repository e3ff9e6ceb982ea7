import Foundation
import GatewaySigning
import Synchronization

/// What a node keeps about each peer for `GET /v1/ops/peers`: the last success and the last error.
final class PeerStates: Sendable {
    struct Entry: Sendable {
        var lastSuccessAt: Date?
        var lastError: String?
    }

    private let entries = Mutex<[String: Entry]>([:])

    init() {}

    func succeeded(peer: String, at time: Date = Date()) {
        entries.withLock { $0[peer, default: Entry()].lastSuccessAt = time }
    }

    func failed(peer: String, error: String) {
        entries.withLock { $0[peer, default: Entry()].lastError = error }
    }

    func entry(_ peer: String) -> Entry { entries.withLock { $0[peer] ?? Entry() } }
}

/// The outbox messages that are not envelopes: signed receipts on their way back to the sender's node.
enum Forwarded {
    /// The `kind` of an outbox message that carries a signed receipt.
    static let receiptKind = "receipt"

    /// The queue id (and FIFO group) of the receipt of `envelopeId` by `by`: one per pair, and a
    /// group of its own, so that a receipt never waits behind a record's revisions.
    static func receiptId(envelopeId: String, by: String) -> String { "receipt:\(envelopeId):\(by)" }

    /// The queue id of an envelope re-routed under directory `serial` (`Forwarders.reroute`): the
    /// same signed envelope, enqueued again for the nodes that now host its recipients, under an id
    /// (and idempotency key) of its own, in its record's FIFO group.
    static func rerouteId(envelopeId: String, serial: Int) -> String { "reroute:\(serial):\(envelopeId)" }

    /// The queue's idempotency digest of a receipt (lower-case hex SHA-256 of its bytes).
    static func digest(_ receipt: [UInt8]) -> String { Hex.encode(Digest.compute(.sha256, receipt)) }
}

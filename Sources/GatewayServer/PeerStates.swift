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

    /// The queue's idempotency digest of a receipt (lower-case hex SHA-256 of its bytes).
    static func digest(_ receipt: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in Digest.compute(.sha256, receipt) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

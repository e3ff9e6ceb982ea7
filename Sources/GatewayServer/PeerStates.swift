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

/// What the lanes of one peer's forwarder share (`Forwarders.lane`): the batch size, adapted to
/// the transfer time, and the back-off after failed transfers, so that a peer that is down is
/// retried by one lane at a time rather than by every lane at once.
final class ForwarderPace: Sendable {
    struct State {
        var size: Int
        var failures = 0
        var retryAt: ContinuousClock.Instant?
    }

    /// The largest batch (the first one's size).
    let largest: Int
    /// The smallest batch the adaptation goes down to.
    let smallest: Int
    /// The transfer time the batch size aims at: a full batch that took longer makes the next one
    /// smaller in proportion, one that took less than half of it makes the next one larger.
    let target: Duration
    private let state: Mutex<State>

    init(largest: Int, smallest: Int, target: Duration) {
        self.largest = max(1, largest)
        self.smallest = max(1, min(smallest, largest))
        self.target = target
        state = Mutex(State(size: self.largest))
    }

    /// The size of the next batch.
    var size: Int { state.withLock { $0.size } }

    /// How long to wait before the next lease (zero unless a transfer failed recently).
    func wait(now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { state in
            guard let retryAt = state.retryAt, retryAt > now else { return .zero }
            return retryAt - now
        }
    }

    /// A transfer of `messages` (of a batch of `requested`) took `elapsed`; `tooLarge`: the peer
    /// answered 413 (the batch is halved, and the largest size kept below it until it succeeds).
    func succeeded(messages: Int, requested: Int, elapsed: Duration, tooLarge: Bool) {
        state.withLock { state in
            state.failures = 0
            state.retryAt = nil
            if tooLarge {
                state.size = max(1, min(state.size, messages) / 2)
                return
            }
            let ratio = elapsed / target
            if ratio > 1, messages > smallest {
                // Too slow: the size that would have taken `target` at this batch's rate.
                state.size = max(smallest, min(state.size, Int(Double(messages) / ratio)))
            } else if ratio < 0.5, messages >= requested {
                state.size = min(largest, state.size + max(1, state.size / 4))
            }
        }
    }

    /// A transfer failed: the next lease waits (exponential back-off with jitter, at most 30 s),
    /// for every lane; returns the wait.
    @discardableResult
    func failed(now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { state in
            state.failures += 1
            let delay = min(30.0, 0.25 * pow(2, Double(min(state.failures, 10)))) * Double.random(in: 0.5..<1)
            let wait = Duration.milliseconds(Int64(delay * 1000))
            state.retryAt = now + wait
            return wait
        }
    }
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

import Foundation
import GatewayQueue
import PropertyBased
import Testing

/// The differential test of a queue driver: random operation sequences run against the driver
/// and against the in-memory driver (the oracle, whose lease walks `LeaseSelection` directly),
/// and every observable answer must be the same.
///
/// ```swift
/// @Test func differential() async {
///     await QueueDifferential.check(count: 60) { configuration in
///         let queue = try SQLiteMessageQueue(path: …, configuration: configuration)
///         return (queue, { /* remove the file */ })
///     }
/// }
/// ```
///
/// Both queues get the same `ManualQueueClock` moves and a constant jitter, so times compare
/// exactly. Messages are compared by (envelope id, destination), never by message id (a driver
/// may skip ids after a rolled-back enqueue) or lease token (random).
public enum QueueDifferential {
    /// Sequences of 1…40 operations; each operation is decoded from one random number, so
    /// shrinking (fewer, smaller numbers) gives shorter and simpler sequences.
    public static let operations = Gen.int(in: 0...999_999_999).array(of: 1...40).map { codes in
        codes.map(QueueOperation.init(code:))
    }

    /// A fresh queue of the driver under test, and what removes it afterwards.
    public typealias Driver = @Sendable (QueueConfiguration) async throws -> (queue: any MessageQueue, remove: @Sendable () async -> Void)

    /// Runs `count` random sequences (`operations`) through `driver` and the oracle; a difference
    /// is a test failure naming the first differing answer, with the (shrunk) sequence and the
    /// seed that reproduces it.
    public static func check(count: Int, sourceLocation: SourceLocation = #_sourceLocation, driver: Driver) async {
        await propertyCheck(count: count, input: operations, perform: { operations in
            let mismatch = try await run(operations, driver: driver)
            #expect(mismatch == nil, "\(mismatch ?? "")", sourceLocation: sourceLocation)
        }, sourceLocation: sourceLocation)
    }

    /// The retry policy of every run: three failed deliveries and the message is dead.
    public static let retry = RetryPolicy(baseDelay: 10, maxDelay: 60, jitter: 0.5, maxDeliveries: 3)

    /// Runs `operations` on a fresh queue of the driver under test and on a fresh oracle; returns
    /// a description of the first difference, or nil when every answer agreed.
    public static func run(_ operations: [QueueOperation], driver: Driver) async throws -> String? {
        let driverClock = ManualQueueClock()
        let (queue, remove) = try await driver(configuration(driverClock))
        do {
            let mismatch = try await compare(operations, queue, driverClock)
            await remove()
            return mismatch
        } catch {
            await remove()
            throw error
        }
    }

    private static func compare(_ operations: [QueueOperation], _ queue: any MessageQueue, _ driverClock: ManualQueueClock) async throws -> String? {
        let oracleClock = ManualQueueClock()
        let oracle = Runner(queue: InMemoryMessageQueue(configuration: configuration(oracleClock)), clock: oracleClock)
        let driver = Runner(queue: queue, clock: driverClock)
        var transcript: [String] = []
        for (index, operation) in operations.enumerated() {
            let expected = try await oracle.perform(operation, index: index)
            let actual = try await driver.perform(operation, index: index)
            transcript.append("#\(index) \(operation): \(expected)")
            if expected != actual {
                return difference("after #\(index) \(operation)", expected, actual, transcript)
            }
            let (expectedState, actualState) = (try await oracle.snapshot(), try await driver.snapshot())
            if expectedState != actualState {
                return difference("state after #\(index) \(operation)", expectedState, actualState, transcript)
            }
        }
        let (expectedHistory, actualHistory) = (try await oracle.histories(), try await driver.histories())
        if expectedHistory != actualHistory {
            return difference("history at the end", expectedHistory, actualHistory, transcript)
        }
        return nil
    }

    static func configuration(_ clock: ManualQueueClock) -> QueueConfiguration {
        QueueConfiguration(retry: retry, clock: clock, random: { 0.5 })
    }

    private static func difference(_ what: String, _ expected: String, _ actual: String, _ transcript: [String]) -> String {
        """
        the driver differs from the oracle \(what)
          oracle: \(expected)
          driver: \(actual)
        transcript (oracle's answers):
        \(transcript.joined(separator: "\n"))
        """
    }
}

/// One step of a differential run. Participants are `b`, `c` and the outbox `node:x` (whose dead
/// letters hold their group); submitters `s0` and `s1` (and the participants, for what acks forward).
public enum QueueOperation: Sendable, Hashable, CustomStringConvertible {
    /// One document: record r0…r3, version (its `updatedAt`) 0…2, digest variant 0…1, destinations
    /// (a bit mask 1…7 of b, c, node:x); `reuse` gives it the envelope id of an earlier operation's
    /// first item (a plain duplicate, a conflict, or new when that one was purged).
    public struct Item: Sendable, Hashable, CustomStringConvertible {
        public var record, version, digest, destinations: Int
        public var reuse: Int?

        public var description: String {
            "r\(record)v\(version)d\(digest)→\(QueueOperation.destinations(destinations).joined(separator: ","))"
                + (reuse.map { " id of #\($0)" } ?? "")
        }
    }

    /// What an ack enqueues with it.
    public enum Forward: Int, Sendable, Hashable {
        case none
        /// A receipt envelope to `node:x`, submitted by the acking participant.
        case receipt
        /// One whose envelope id is the acked envelope's (stored under another key): a conflict.
        case conflicting
    }

    case enqueue(submitter: Int, items: [Item])
    case lease(participant: Int, max: Int, visibility: Int)
    /// Acks earlier leases (indexes into every lease handed out so far; nil: an unknown token).
    case ack(participant: Int, leases: [Int?], rejected: Bool, forward: Forward)
    /// `ackAndLease`: the acks of `ack`, then a lease of the same participant, in one call.
    case ackAndLease(participant: Int, leases: [Int?], rejected: Bool, forward: Forward, max: Int, visibility: Int)
    case nack(participant: Int, lease: Int?)
    /// `deadLetter(participant:leaseToken:reason:)` of an earlier lease.
    case deadLetter(participant: Int, lease: Int?)
    /// `leased(participant:leaseToken:)` of an earlier lease.
    case lookUp(participant: Int, lease: Int?)
    /// Replays the message of an earlier lease (dead or not); without one, a batch
    /// (`replay(messageIds:)`) of a participant's oldest dead letters (up to 3), the oldest again
    /// and an unknown id.
    case replay(lease: Int?, deadOf: Int)
    /// Discards the message of an earlier lease (dead or not), or the oldest dead letter of a participant.
    case discard(lease: Int?, deadOf: Int)
    /// `settleRemote` of an envelope seen so far (nil: an unknown one) for a participant or
    /// `nobody` (3).
    case settleRemote(envelope: Int?, destination: Int, rejected: Bool)
    case advance(seconds: Int)
    case reclaim
    /// `purgeAcked(before: now − age)`.
    case purge(age: Int)

    static let visibilities = [5, 30, 60]
    // 5, 30 and 60 are the visibilities: a clock moved exactly onto a lease's expiry is common.
    static let advances = [1, 5, 10, 30, 31, 60, 600, 86_400]
    static let ages = [0, 60, 3_600]

    /// Decodes one random number: the last two digits choose the kind, the others its arguments.
    init(code: Int) {
        var rest = code / 100
        func take(_ n: Int) -> Int {
            defer { rest /= n }
            return rest % n
        }
        func leaseRef() -> Int? {
            let n = take(16)
            return n == 15 ? nil : n
        }
        switch code % 100 {
        case 0..<20:
            let submitter = take(2)
            let count = 1 + take(3)
            var items: [Item] = []
            for _ in 0..<count {
                let item = take(2_000)
                var reuse: Int?
                if item % 10 == 0 { reuse = item / 10 % 20 }
                items.append(Item(
                    record: item / 200 % 4, version: item / 600 % 3, digest: item % 2, destinations: 1 + item / 2 % 7,
                    reuse: reuse))
            }
            self = .enqueue(submitter: submitter, items: items)
        case 20..<38:
            self = .lease(participant: take(3), max: 1 + take(3), visibility: Self.visibilities[take(3)])
        case 38..<52:
            let participant = take(3)
            let rejected = take(4) == 0
            let forward = [Forward.none, .receipt, .receipt, .none, .none, .conflicting][take(6)]
            let count = 1 + take(3)
            let leases = (0..<count).map { _ in leaseRef() }
            if take(2) == 0 {
                self = .ack(participant: participant, leases: leases, rejected: rejected, forward: forward)
            } else {
                self = .ackAndLease(
                    participant: participant, leases: leases, rejected: rejected, forward: forward, max: 1 + take(3),
                    visibility: Self.visibilities[take(3)])
            }
        case 52..<58:
            self = .nack(participant: take(3), lease: leaseRef())
        case 58..<62:
            self = .deadLetter(participant: take(3), lease: leaseRef())
        case 62..<65:
            self = .lookUp(participant: take(3), lease: leaseRef())
        case 65..<70:
            let deadOf = take(3)
            self = .replay(lease: take(2) == 0 ? leaseRef() : nil, deadOf: deadOf)
        case 70..<73:
            let deadOf = take(3)
            self = .discard(lease: take(2) == 0 ? leaseRef() : nil, deadOf: deadOf)
        case 73..<78:
            let destination = take(4)
            let rejected = take(3) == 0
            let envelope = take(12)
            self = .settleRemote(envelope: envelope == 11 ? nil : envelope, destination: destination, rejected: rejected)
        case 78..<92:
            self = .advance(seconds: Self.advances[take(Self.advances.count)])
        case 92..<96:
            self = .reclaim
        default:
            self = .purge(age: Self.ages[take(Self.ages.count)])
        }
    }

    public var description: String {
        switch self {
        case .enqueue(let submitter, let items): "enqueue s\(submitter) \(items)"
        case .lease(let participant, let max, let visibility): "lease \(Self.name(participant)) max \(max) for \(visibility) s"
        case .ack(let participant, let leases, let rejected, let forward):
            "ack " + Self.acks(participant, leases, rejected, forward)
        case .ackAndLease(let participant, let leases, let rejected, let forward, let max, let visibility):
            "ackAndLease " + Self.acks(participant, leases, rejected, forward) + " then lease max \(max) for \(visibility) s"
        case .nack(let participant, let lease): "nack \(Self.name(participant)) \(lease.map { "L\($0)" } ?? "unknown")"
        case .deadLetter(let participant, let lease): "deadLetter \(Self.name(participant)) \(lease.map { "L\($0)" } ?? "unknown")"
        case .lookUp(let participant, let lease): "leased \(Self.name(participant)) \(lease.map { "L\($0)" } ?? "unknown")"
        case .replay(let lease, let deadOf): lease.map { "replay L\($0)" } ?? "replay a batch of the dead of \(Self.name(deadOf))"
        case .discard(let lease, let deadOf): lease.map { "discard L\($0)" } ?? "discard first dead of \(Self.name(deadOf))"
        case .settleRemote(let envelope, let destination, let rejected):
            "settleRemote \(envelope.map { "E\($0)" } ?? "unknown")/\(Self.name(destination))\(rejected ? " rejected" : "")"
        case .advance(let seconds): "advance \(seconds) s"
        case .reclaim: "reclaim"
        case .purge(let age): "purge acked before now − \(age) s"
        }
    }

    private static func acks(_ participant: Int, _ leases: [Int?], _ rejected: Bool, _ forward: Forward) -> String {
        "\(name(participant)) \(leases.map { $0.map { "L\($0)" } ?? "unknown" })\(rejected ? " rejected" : "")"
            + (forward == .none ? "" : " forwarding \(forward)")
    }

    /// The participants: two inboxes and an outbox.
    static let participants = ["b", "c", Outbox.destination(node: "x")]

    /// Participant `participant`, or `nobody` past the last.
    static func name(_ participant: Int) -> String { participant < participants.count ? participants[participant] : "nobody" }

    /// The destinations of an item's bit mask.
    static func destinations(_ mask: Int) -> [String] {
        participants.indices.filter { mask & (1 << $0) != 0 }.map { participants[$0] }
    }
}

/// One queue under test with what it handed out so far, answering each operation as text.
private final class Runner {
    struct Lease {
        var messageId: MessageID
        var envelopeId: String
        var destination: String
        var recordId: String
        var token: LeaseToken
    }

    let queue: any MessageQueue
    let clock: ManualQueueClock
    let start: Date
    var leases: [Lease] = []
    /// The first item's envelope id of each enqueue operation, by operation index.
    var firstEnvelope: [Int: String] = [:]
    var envelopes: [String] = []

    init(queue: any MessageQueue, clock: ManualQueueClock) {
        self.queue = queue
        self.clock = clock
        start = clock.now()
    }

    func perform(_ operation: QueueOperation, index: Int) async throws -> String {
        do {
            return try await answer(operation, index: index)
        } catch let error as QueueError where error.code != .storage {
            return "error \(error.code)"
        }
    }

    private func lease(_ reference: Int?) -> Lease? {
        guard let reference, !leases.isEmpty else { return nil }
        return leases[reference % leases.count]
    }

    private func token(_ reference: Int?) -> LeaseToken { lease(reference)?.token ?? LeaseToken("00000000-0000-4000-8000-000000000000") }

    private func answer(_ operation: QueueOperation, index: Int) async throws -> String {
        switch operation {
        case .enqueue(let submitter, let specs):
            let items = specs.enumerated().map { position, spec in
                EnqueueItem(
                    envelopeId: spec.reuse.flatMap { firstEnvelope[$0] } ?? "e\(index)-\(position)", kind: "traffic-violation",
                    recordId: "r\(spec.record)", updatedAt: "2026-01-0\(spec.version + 1)T00:00:00Z",
                    payloadDigest: "d\(spec.record)-\(spec.version)-\(spec.digest)",
                    destinations: QueueOperation.destinations(spec.destinations),
                    envelope: Array("{\"op\":\(index),\"item\":\(position)}".utf8))
            }
            let result = try await queue.enqueue(submitter: "s\(submitter)", items: items)
            firstEnvelope[index] = items[0].envelopeId
            for item in result where !envelopes.contains(item.envelopeId) { envelopes.append(item.envelopeId) }
            return result.map { "\($0.envelopeId)→\($0.destinations.joined(separator: ","))\($0.duplicate ? " duplicate" : "")" }
                .joined(separator: "; ")
        case .lease(let participant, let max, let visibility):
            let leased = try await queue.lease(
                participant: QueueOperation.name(participant), max: max, visibility: TimeInterval(visibility))
            return record(leased)
        case .ack(let participant, let references, let rejected, let forward):
            let acknowledgements = acknowledgements(references, rejected: rejected, forward: forward)
            let results = try await queue.ack(participant: QueueOperation.name(participant), acknowledgements)
            return record(acknowledgements, results)
        case .ackAndLease(let participant, let references, let rejected, let forward, let max, let visibility):
            let acknowledgements = acknowledgements(references, rejected: rejected, forward: forward)
            let (results, leased) = try await queue.ackAndLease(
                participant: QueueOperation.name(participant), acknowledgements, max: max, visibility: TimeInterval(visibility))
            return record(acknowledgements, results) + "; " + record(leased)
        case .nack(let participant, let reference):
            try await queue.nack(participant: QueueOperation.name(participant), leaseToken: token(reference), error: "HTTP 503")
            return "nacked"
        case .deadLetter(let participant, let reference):
            try await queue.deadLetter(participant: QueueOperation.name(participant), leaseToken: token(reference), reason: "rejected")
            return "dead-lettered"
        case .lookUp(let participant, let reference):
            guard let found = try await queue.leased(participant: QueueOperation.name(participant), leaseToken: token(reference)) else {
                return "no current lease"
            }
            return "current: \(found.envelopeId)/\(found.destination) count \(found.deliveryCount) until \(time(found.leaseExpiresAt))"
        case .replay(nil, let deadOf):
            let dead = try await queue.deadLetters(participant: QueueOperation.name(deadOf), limit: 3).map(\.messageId)
            let results = try await queue.replay(messageIds: dead + dead.prefix(1) + [MessageID(Int64.max / 2)])
            return "replayed " + results.map { $0.map { "\($0.code)" } ?? "ok" }.joined(separator: ", ")
        case .replay(let reference, let deadOf):
            try await queue.replay(messageId: try await message(reference, deadOf: deadOf))
            return "replayed"
        case .discard(let reference, let deadOf):
            try await queue.discard(messageId: try await message(reference, deadOf: deadOf))
            return "discarded"
        case .settleRemote(let reference, let destination, let rejected):
            let envelopeId = reference.flatMap { envelopes.isEmpty ? nil : envelopes[$0 % envelopes.count] } ?? "e-unknown"
            let settled = try await queue.settleRemote(
                envelopeId: envelopeId, destination: QueueOperation.name(destination),
                outcome: rejected ? .rejected(reason: "remote") : .accepted, receipt: rejected ? nil : Array("remote receipt".utf8))
            return "\(envelopeId): \(settled)"
        case .advance(let seconds):
            clock.advance(by: TimeInterval(seconds))
            return "now \(time(clock.now()))"
        case .reclaim:
            return "reclaimed \(try await queue.reclaimExpired())"
        case .purge(let age):
            return "purged \(try await queue.purgeAcked(before: clock.now() - TimeInterval(age)))"
        }
    }

    /// Keeps the leases handed out, for later operations to refer to; their description.
    private func record(_ leased: [LeasedMessage]) -> String {
        for message in leased {
            leases.append(Lease(
                messageId: message.messageId, envelopeId: message.envelopeId, destination: message.destination,
                recordId: message.recordId, token: message.leaseToken))
        }
        return "leased " + leased.map { message in
            "L\(leases.firstIndex { $0.token == message.leaseToken } ?? -1)=\(message.envelopeId)/\(message.destination)"
                + " \(message.recordId)@\(message.updatedAt.prefix(10)) count \(message.deliveryCount)"
                + " until \(time(message.leaseExpiresAt)) \(String(decoding: message.envelope, as: UTF8.self))"
                + " from \(message.submitter) \(message.payloadDigest)"
        }.joined(separator: ", ")
    }

    /// The acknowledgements of earlier leases (an unknown token where there is none).
    private func acknowledgements(_ references: [Int?], rejected: Bool, forward: QueueOperation.Forward) -> [Acknowledgement] {
        references.map { reference in
            Acknowledgement(
                leaseToken: token(reference), outcome: rejected ? .rejected(reason: "bad") : .accepted,
                receipt: rejected ? nil : Array("receipt".utf8), forward: self.forward(forward, of: lease(reference)))
        }
    }

    /// Keeps the envelopes that stored acks forwarded; the acks' answers.
    private func record(_ acknowledgements: [Acknowledgement], _ results: [QueueError?]) -> String {
        for (ack, result) in zip(acknowledgements, results) where result == nil {
            if let forwarded = ack.forward?.item.envelopeId, !envelopes.contains(forwarded) { envelopes.append(forwarded) }
        }
        return "acks " + results.map { $0.map { "\($0.code)" } ?? "stored" }.joined(separator: ", ")
    }

    /// The message of an earlier lease, or the oldest dead letter of a participant, or an unknown id.
    private func message(_ reference: Int?, deadOf: Int) async throws -> MessageID {
        if let lease = lease(reference) { return lease.messageId }
        if let dead = try await queue.deadLetters(participant: QueueOperation.name(deadOf), limit: 1).first { return dead.messageId }
        return MessageID(Int64.max / 2)
    }

    /// What an ack of `lease` forwards: a receipt for the sender's node, submitted by the
    /// participant that acked (one per acked message, so its key and id follow from the lease).
    private func forward(_ kind: QueueOperation.Forward, of lease: Lease?) -> Acknowledgement.Forward? {
        guard kind != .none else { return nil }
        let acked = lease.map { "\($0.envelopeId)-\($0.destination)" } ?? "unknown"
        let id = kind == .conflicting ? (lease?.envelopeId ?? "e-unknown") : "f-\(acked)"
        return Acknowledgement.Forward(submitter: lease?.destination ?? "b", item: EnqueueItem(
            envelopeId: id, kind: "receipt", recordId: "rcpt-\(lease?.recordId ?? "unknown")", updatedAt: "2026-01-01T00:00:00Z",
            payloadDigest: "fd-\(acked)", destinations: [Outbox.destination(node: "x")],
            envelope: Array("{\"receipt\":\"\(acked)\"}".utf8)))
    }

    /// Depths, dead letters and receipts: everything a lessee, an operator or a submitter reads.
    func snapshot() async throws -> String {
        let depths = try await queue.depths().sorted { $0.key < $1.key }.map { participant, depth in
            "\(participant): q\(depth.queued) l\(depth.leased) d\(depth.dead) a\(depth.acked)"
        }
        var dead: [String] = []
        for participant in QueueOperation.participants {
            dead += try await queue.deadLetters(participant: participant, limit: 100).map { letter in
                "\(letter.envelopeId)/\(letter.destination) from \(letter.submitter) \(letter.recordId) count \(letter.deliveryCount)"
                    + " \(letter.lastError ?? "-") at \(time(letter.diedAt))"
            }
        }
        var receipts: [String] = []
        for submitter in ["s0", "s1"] {
            receipts += try await queue.receipts(submitter: submitter, since: .distantPast, limit: 100).map(describe)
        }
        let oldest = try await queue.oldestQueued().sorted { $0.key < $1.key }.map { "\($0.key) \(time($0.value))" }
        return "depths [\(depths.joined(separator: "; "))] dead [\(dead.joined(separator: "; "))] receipts [\(receipts.joined(separator: "; "))]"
            + " oldest [\(oldest.joined(separator: "; "))]"
    }

    /// Every envelope's history (per destination, in order) and receipts.
    func histories() async throws -> String {
        var lines: [String] = []
        for envelope in envelopes {
            let history = try await queue.history(envelopeId: envelope)
            if let stored = try await queue.storedEnvelope(id: envelope) {
                lines.append("\(envelope) stored: \(stored.submitter) \(stored.kind) \(stored.recordId)@\(stored.updatedAt) "
                    + "\(stored.payloadDigest) → \(stored.destinations.joined(separator: ",")) \(String(decoding: stored.envelope, as: UTF8.self))")
            }
            for destination in QueueOperation.participants {
                let events = history.filter { $0.destination == destination }.map { entry in
                    "\(entry.event)@\(time(entry.at)) \(entry.deliveryCount)\(entry.detail.map { " \($0)" } ?? "")"
                }
                if !events.isEmpty { lines.append("\(envelope)/\(destination): \(events.joined(separator: ", "))") }
            }
            let receipts = try await queue.receipts(envelopeId: envelope).map(describe)
            if !receipts.isEmpty { lines.append("\(envelope) receipts: \(receipts.joined(separator: ", "))") }
        }
        return lines.joined(separator: "\n")
    }

    private func describe(_ receipt: StoredReceipt) -> String {
        "\(receipt.envelopeId)/\(receipt.destination) \(receipt.recordId) \(receipt.outcome.name)\(receipt.outcome.reason.map { " \($0)" } ?? "")"
            + " \(receipt.receipt.map { String(decoding: $0, as: UTF8.self) } ?? "-") at \(time(receipt.ackedAt))"
    }

    private func time(_ date: Date) -> String {
        String(format: "%+.3f", date.timeIntervalSince(start))
    }
}

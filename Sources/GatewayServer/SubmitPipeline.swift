import GatewayMapping
import GatewayModel
import GatewayQueue
import GatewaySigning

/// One submitted document through translate → ownership check → route → sign → serialize →
/// enqueue (one queue transaction), and the JSON answer: what `POST /v1/documents` does
/// (`Gateway.submit`) and exactly what `xgw bench pipeline` measures.
///
/// A domain service: it knows nothing of HTTP. It returns what became of each record, or throws
/// `Refusal` when the submitter may not submit the document at all (the server layer turns both
/// into statuses). Every record's ownership is checked before the first signature, so a refused
/// document costs a translation and no signing.
public struct SubmitPipeline: Sendable {
    /// Why a document was refused as a whole before anything was signed or stored.
    public enum Refusal: Error, Sendable, CustomStringConvertible {
        /// `count` records belong to another participant: a participant submits only its own records.
        case foreignRecords(count: Int)

        public var description: String {
            switch self {
            case .foreignRecords(let count):
                "\(count) record(s) of this document belong to another participant: a participant submits only its own records"
            }
        }
    }

    public let translator: Translator
    public let routes: Routes
    public let queue: any MessageQueue
    /// Whether some node can deliver to a participant (node mode: a node of the directory hosts it);
    /// a record with a destination that none hosts is rejected `no-route`, never queued.
    public let isRoutable: @Sendable (String) -> Bool
    /// The outboxes (`node:<id>`) an envelope to these destinations also goes to: one per other
    /// node hosting at least one of them (node mode), in the same queue transaction as the local
    /// inboxes. A destination hosted elsewhere also keeps its own message at this node, which waits
    /// for the receipt that node sends back (`MessageQueue.settleRemote`).
    public let outboxes: @Sendable ([String]) -> [String]
    /// The attachment store a bulletin's attachments are checked against (`AttachmentStore.check`:
    /// a record whose stored bytes do not match is rejected) and whose read grants each accepted
    /// bulletin's issuer and audience receive; nil: attachments are neither checked nor granted.
    public let attachments: AttachmentStore?
    /// Whether the envelopes of one document are sealed as one batch (envelope.md, "Batch
    /// signatures": one signature over the Merkle root of the document's accepted records, each
    /// envelope carrying its `signature.batch` proof) instead of one signature each. A document
    /// with one accepted record is sealed in the single form either way. `signing.batch` of the
    /// server configuration; true by default.
    public let batchSignatures: Bool

    public init(
        translator: Translator, routes: Routes, queue: any MessageQueue, isRoutable: @escaping @Sendable (String) -> Bool = { _ in true },
        outboxes: @escaping @Sendable ([String]) -> [String] = { _ in [] }, attachments: AttachmentStore? = nil,
        batchSignatures: Bool = true
    ) {
        self.translator = translator
        self.routes = routes
        self.queue = queue
        self.isRoutable = isRoutable
        self.outboxes = outboxes
        self.attachments = attachments
        self.batchSignatures = batchSignatures
    }

    /// What became of one record, in document order.
    public enum Entry: Sendable {
        case rejected(Rejection)
        case enqueued(index: Int, recordId: String, stored: EnqueuedItem)
    }

    /// What a document came to.
    public struct Outcome: Sendable {
        public var summary: DocumentSummary
        public var entries: [Entry]
        public var accepted = 0, duplicates = 0, rejected = 0
        /// Rejected records per first error code (for the metrics).
        public var rejectedCodes: [String: Int] = [:]
        /// Per accepted (or duplicate) record index, its attachments whose bytes are not uploaded
        /// yet (`/attachments/<i>/sha256`): the answer's `missingAttachments`.
        public var missingAttachments: [Int: [String]] = [:]

        /// The document was refused as a whole (not recognised, malformed, over a limit).
        public var refusedAsWhole: Bool { summary.documentRejection != nil }

        /// Nothing of the document will be delivered: refused as a whole, or every record rejected
        /// (a duplicate counts as delivered: its first envelope was).
        public var nothingAccepted: Bool { refusedAsWhole || (rejected > 0 && accepted + duplicates == 0) }

        /// The answer: `mapping`, counts, and per record `index`, `recordId`, `envelopeId`,
        /// `destinations`, `duplicate`; or `index`, `recordId`, `errors` (cli.md's rejection).
        public func json() -> JSONValue {
            var records: [JSONValue] = []
            records.reserveCapacity(entries.count)
            for entry in entries {
                switch entry {
                case .rejected(let rejection):
                    records.append(rejection.json(file: nil))
                case .enqueued(let index, let recordId, let stored):
                    var record = JSONObject([
                        "index": .number(JSONNumber(index)), "recordId": .string(recordId),
                        "envelopeId": .string(stored.envelopeId), "destinations": .array(stored.destinations.filter { !Outbox.isOutbox($0) }.map { .string($0) }),
                        "duplicate": .bool(stored.duplicate),
                    ])
                    if let missing = missingAttachments[index], !missing.isEmpty {
                        record["missingAttachments"] = .array(missing.map { .string($0) })
                    }
                    records.append(.object(record))
                }
            }
            return [
                "mapping": summary.mapping.map { .string($0.id) } ?? .null,
                "accepted": .number(JSONNumber(accepted)), "duplicates": .number(JSONNumber(duplicates)),
                "rejected": .number(JSONNumber(rejected)), "records": .array(records),
            ]
        }
    }

    /// Runs the document through, signing with `signer` as `submitter`. Records of another
    /// participant refuse the whole document (`Refusal.foreignRecords`, nothing signed or stored);
    /// a queue failure throws.
    public func run(
        _ bytes: [UInt8], mappingID: String?, submitter: String, signer: Signer, timer: StageTimer? = nil
    ) async throws -> Outcome {
        var outcomes: [RecordOutcome] = []
        let summary = timed(timer, .translate) {
            translator.translate(bytes, mappingID: mappingID) { outcomes.append($0) }
        }

        // Ownership first, for every record: a document with a record of another participant is
        // refused before any routing or signing work.
        let foreign = timed(timer, .route) {
            outcomes.reduce(0) { count, outcome in
                guard case .translated(_, let record, _) = outcome else { return count }
                return Routes.defaultSubmitter(for: record, seeds: translator.seeds) == submitter ? count : count + 1
            }
        }
        if foreign > 0 { throw Refusal.foreignRecords(count: foreign) }

        enum Pending {
            case rejected(Rejection)
            /// The `slot`-th record to seal.
            case sealed(index: Int, slot: Int)
        }
        var pending: [Pending] = []
        // The records that passed every check, in document order: sealed together below.
        var toSeal: [(record: JSONValue, recordId: String, destinations: [String])] = []
        // Attachment hashes each accepted record's issuer and audience may read, and what is missing.
        var grants: [(hashes: [String], participants: [String])] = []
        var missingAttachments: [Int: [String]] = [:]
        pending.reserveCapacity(outcomes.count)
        toSeal.reserveCapacity(outcomes.count)
        for outcome in outcomes {
            switch outcome {
            case .rejected(let rejection, _):
                pending.append(.rejected(rejection))
            case .translated(let index, let record, _):
                let recordId = record["recordId"]?.stringValue ?? ""
                let attached = attachments?.check(record) ?? AttachmentStore.Check()
                if !attached.errors.isEmpty {
                    pending.append(.rejected(Rejection(index: index, recordId: recordId, errors: attached.errors)))
                    continue
                }
                let route = timed(timer, .route) {
                    Result { () throws(RecordError) in try routes.route(record, submitter: submitter) }
                }
                let decision: Routes.Decision
                switch route {
                case .failure(let error):
                    pending.append(.rejected(Rejection(index: index, recordId: recordId, errors: [error])))
                    continue
                case .success(let found):
                    decision = found
                }
                let unroutable = decision.destinations.filter { !isRoutable($0) }
                if !unroutable.isEmpty {
                    let error = RecordError(
                        "no-route", message: "no node of the directory hosts \(unroutable.joined(separator: ", "))")
                    pending.append(.rejected(Rejection(index: index, recordId: recordId, errors: [error])))
                    continue
                }
                pending.append(.sealed(index: index, slot: toSeal.count))
                toSeal.append((record, recordId, decision.destinations))
                if !attached.hashes.isEmpty { grants.append((attached.hashes, [submitter] + decision.destinations)) }
                if !attached.missing.isEmpty { missingAttachments[index] = attached.missing }
            }
        }

        let envelopes = try timed(timer, .sign) { try seal(toSeal.map { ($0.record, $0.destinations) }, submitter: submitter, signer: signer) }
        var items: [EnqueueItem] = []
        items.reserveCapacity(envelopes.count)
        for (envelope, sealed) in zip(envelopes, toSeal) {
            let body = timed(timer, .serialize) { envelope.canonicalBytes() }
            items.append(EnqueueItem(
                envelopeId: envelope.id ?? "", kind: envelope.kind ?? "", recordId: sealed.recordId,
                updatedAt: sealed.record["updatedAt"]?.stringValue ?? "",
                payloadDigest: envelope.payloadDigest?["value"]?.stringValue ?? "",
                destinations: sealed.destinations + outboxes(sealed.destinations), envelope: body))
        }
        var stored: [EnqueuedItem] = []
        // Read grants first: once the answer says accepted, the audience can download the bytes
        // (a failed enqueue leaves grants to the audience of a bulletin that was not stored).
        for grant in grants { try attachments?.grant(grant.hashes, to: grant.participants) }
        if !items.isEmpty {
            let start = timer?.read()
            stored = try await queue.enqueue(submitter: submitter, items: items)
            if let timer, let start { timer.add(.append, since: start) }
        }

        var result = Outcome(summary: summary, entries: [])
        result.missingAttachments = missingAttachments
        result.entries.reserveCapacity(pending.count)
        for entry in pending {
            switch entry {
            case .rejected(let rejection):
                result.rejected += 1
                result.rejectedCodes[rejection.errors.first?.code.rawValue ?? "", default: 0] += 1
                result.entries.append(.rejected(rejection))
            case .sealed(let index, let slot):
                let done = stored[slot]
                if done.duplicate { result.duplicates += 1 } else { result.accepted += 1 }
                result.entries.append(.enqueued(index: index, recordId: items[slot].recordId, stored: done))
            }
        }
        return result
    }

    /// The envelopes of `records` (each with its recipients), in order: one batch signature over
    /// them all when `batchSignatures` and there are two or more, else one signature each.
    func seal(_ records: [(record: JSONValue, to: [String])], submitter: String, signer: Signer) throws -> [Envelope] {
        if batchSignatures, records.count > 1 {
            return try Envelope.sealBatch(records.map { Envelope.BatchItem(record: $0.record, to: $0.to) }, from: submitter, signer: signer)
        }
        return try records.map { try Envelope.seal(record: $0.record, from: submitter, to: $0.to, signer: signer) }
    }

    private func timed<T>(_ timer: StageTimer?, _ stage: StageTimer.Stage, _ body: () throws -> T) rethrows -> T {
        guard let timer else { return try body() }
        let start = timer.read()
        defer { timer.add(stage, since: start) }
        return try body()
    }
}

/// Adds up the time each stage of `SubmitPipeline.run` takes, read from `clock` (seconds) before
/// and after each stage: `xgw bench pipeline` passes the process's CPU time. Not for concurrent use.
public final class StageTimer {
    public enum Stage: String, CaseIterable, Sendable {
        /// Parse, map and validate (`Translator.translate`).
        case translate
        /// The ownership check and `Routes.route`.
        case route
        /// `Envelope.seal` (or `sealBatch`, one signature for the document): canonical payloads, digests, signatures.
        case sign
        /// The envelope's canonical bytes, as stored.
        case serialize
        /// The queue transaction (with its fsync).
        case append
    }

    public private(set) var seconds: [Stage: Double] = [:]
    private let clock: () -> Double

    public init(clock: @escaping () -> Double) { self.clock = clock }

    func read() -> Double { clock() }

    func add(_ stage: Stage, since start: Double) { seconds[stage, default: 0] += clock() - start }
}

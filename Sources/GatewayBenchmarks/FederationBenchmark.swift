import Foundation
import GatewayModel
import GatewayQueue
import GatewayServer
import GatewaySigning
import Synchronization

/// `xgw bench federation`: records/s from a submit at renshi-node to their arrival in xinsheng's
/// inbox at xinsheng-node (two gateways of a throw-away alliance in this process, mutual TLS on
/// loopback, SQLite), against one gateway without a `node` section where renshi submits to
/// xinsheng's inbox of the same gateway; in the same run, in interleaved rounds (one-node,
/// federated, federated, one-node …) so that the machine's noise falls on both.
///
/// Submits call `Gateway.submit` (no office HTTP), one document after the other. Arrivals are
/// counted the same way in both modes: by leasing xinsheng's inbox in batches of up to 1000,
/// never acked, so that neither the receiving office's acks nor the receipts they sign and send
/// back are timed; the difference between the two modes is the node-to-node transport. Each
/// transfer of renshi-node's forwarder (a batch's POSTs and settling, as it records them in
/// `xgw_federation_transfer_seconds`) gives the p50/p99 per batch; the receiver's signature checks
/// of a batch (`Envelope.verify` of the envelopes that arrived, one after the other and on every core) show
/// how much of a transfer they are.
public struct FederationBenchmark {
    public var mappingsDirectory: String
    public var seedsDirectory: String
    /// Records per measured run (rounded down to whole documents).
    public var records: Int
    /// Records per document.
    public var documentsOf: Int
    /// Signature algorithms by name (`ES256`, `SM2-SM3`).
    public var algorithms: [String]
    /// Pairs of runs (one-node and federated, in alternating order).
    public var rounds: Int

    public init(mappingsDirectory: String, seedsDirectory: String, records: Int, documentsOf: Int, algorithms: [String], rounds: Int) {
        self.mappingsDirectory = mappingsDirectory
        self.seedsDirectory = seedsDirectory
        self.records = records
        self.documentsOf = documentsOf
        self.algorithms = algorithms
        self.rounds = rounds
    }

    /// One measured run: records delivered, wall seconds from the first submit to the last
    /// arrival, CPU seconds of the process (all three gateways), and up to a batch of the
    /// envelopes that arrived.
    struct Run {
        var records: Int
        var seconds: Double
        var cpu: Double
        var envelopes: [[UInt8]] = []
        /// Each record's latency, ms: from the start of its document's submit to its arrival.
        var latencies: [Double] = []
        var rate: Double { Double(records) / seconds }
    }

    /// When each document of a run started to be submitted, by index; read by the arrivals' task
    /// to time each record from its document's submit.
    final class SubmitStarts: Sendable {
        let first: Int
        let documentsOf: Int
        let starts: Mutex<[ContinuousClock.Instant?]>

        init(first: Int, documentsOf: Int, documents: Int) {
            self.first = first
            self.documentsOf = documentsOf
            starts = Mutex(Array(repeating: nil, count: documents))
        }

        func started(_ document: Int) {
            let now = ContinuousClock.now
            starts.withLock { $0[document] = now }
        }

        /// The submit start of the document of `recordId` (`sc-traffic:51172300` + 8 digits: the
        /// synthetic record's number, `first` + its index in the run).
        func start(of recordId: String) -> ContinuousClock.Instant? {
            guard let number = Int(recordId.suffix(8)) else { return nil }
            let document = (number - first) / documentsOf
            return starts.withLock { $0.indices.contains(document) ? $0[document] : nil }
        }
    }

    /// One transfer of renshi-node's forwarder.
    typealias Transfer = (seconds: Double, messages: Int)

    /// Envelopes whose checks are timed per algorithm: the forwarder's batch size.
    static let checkedBatch = 200

    public func run(output: some BenchmarkOutput) async throws {
        guard records >= documentsOf, documentsOf > 0, rounds > 0 else {
            throw BenchmarkError.invalid("--records must be at least --documents-of, both and --rounds positive")
        }
        let checked = try algorithms.map { name in
            guard let algorithm = SignatureAlgorithm(name: name) else { throw BenchmarkError.invalid("unknown algorithm \(name)") }
            return (name, algorithm)
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-federation-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        output.line(
            "federation: records/s from Gateway.submit at renshi-node to arrival in xinsheng's inbox at xinsheng-node (forwarder → mutual TLS 1.3 "
                + "on loopback → verify → enqueue, SQLite), against one gateway without a node section (submit to xinsheng's inbox of the same "
                + "gateway); arrivals counted alike in both modes, by leasing xinsheng's inbox in batches of up to 1000, never acked")
        output.line("alg      rec/doc  mode       round  records/s  wall ms/rec  CPU ms/rec (whole process)")
        output.flush()
        var firstId = 0
        for (name, algorithm) in checked {
            let transfers = Mutex<[Transfer]>([])
            let pair = try await NodePair.start(
                folder: "\(folder)/\(name)", algorithm: algorithm, mappingsDirectory: mappingsDirectory, seedsDirectory: seedsDirectory,
                observer: { peer, seconds, messages in
                    if peer == "xinsheng-node" { transfers.withLock { $0.append((seconds, messages)) } }
                })
            do {
                try await measureRounds(pair, name: name, first: &firstId, transfers: transfers, output: output)
            } catch {
                await pair.stop()
                throw error
            }
            await pair.stop()
        }
    }

    /// The warm-up, then `rounds` pairs of runs, then the totals, the ratio, the transfer
    /// percentiles and the receiver's signature checks of a batch.
    func measureRounds(
        _ pair: NodePair, name: String, first firstId: inout Int, transfers: borrowing Mutex<[Transfer]>, output: some BenchmarkOutput
    ) async throws {
        // Warm-up (not measured): the forwarder's connection, the SQLite files, the code paths.
        _ = try await measure(from: pair.renshi, to: pair.xinsheng, first: &firstId, records: documentsOf)
        _ = try await measure(from: pair.oneNode, to: pair.oneNode, first: &firstId, records: documentsOf)
        try await pair.settle()
        transfers.withLock { $0.removeAll() }

        let prefix = name.padding(toLength: 9, withPad: " ", startingAt: 0)
        var oneNode: [Run] = []
        var federated: [Run] = []
        for round in 1...rounds {
            for isFederated in (round % 2 == 1 ? [false, true] : [true, false]) {
                let run =
                    isFederated
                    ? try await measure(from: pair.renshi, to: pair.xinsheng, first: &firstId, records: records)
                    : try await measure(from: pair.oneNode, to: pair.oneNode, first: &firstId, records: records)
                if isFederated { federated.append(run) } else { oneNode.append(run) }
                output.line(
                    prefix + String(documentsOf).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + (isFederated ? "federated" : "one-node").padding(toLength: 11, withPad: " ", startingAt: 0)
                        + String(round).padding(toLength: 7, withPad: " ", startingAt: 0)
                        + String(format: "%-10.0f %-12.3f %.3f", run.rate, run.seconds / Double(run.records) * 1e3, run.cpu / Double(run.records) * 1e3))
                output.flush()
                try await pair.settle()
            }
        }
        let one = Self.total(oneNode)
        let fed = Self.total(federated)
        output.line(
            prefix
                + String(
                    format: "one-node %.0f records/s (CPU %.3f ms/rec), federated %.0f records/s (CPU %.3f ms/rec): "
                        + "ratio federated/one-node %.2f (goal ≥ 0.50)",
                    one.rate, one.cpu / Double(one.records) * 1e3, fed.rate, fed.cpu / Double(fed.records) * 1e3, fed.rate / one.rate))
        let taken = transfers.withLock { $0 }
        let durations = taken.map(\.seconds).sorted()
        let perMessage = taken.map { $0.seconds / Double(max(1, $0.messages)) }.sorted()
        let messages = taken.reduce(0) { $0 + $1.messages }
        output.line(
            prefix
                + String(
                    format: "transfer renshi-node → xinsheng-node: %d batches, %.0f messages/batch, p50 %.1f ms, p99 %.1f ms, max %.1f ms "
                        + "(goal p99 < 100 ms); per message p50 %.2f ms, p99 %.2f ms",
                    taken.count, Double(messages) / Double(max(1, taken.count)), Self.percentile(durations, 0.50) * 1e3,
                    Self.percentile(durations, 0.99) * 1e3, (durations.last ?? 0) * 1e3, Self.percentile(perMessage, 0.50) * 1e3,
                    Self.percentile(perMessage, 0.99) * 1e3))
        output.line(
            prefix
                + String(
                    format: "record latency (submit start → arrival) in these saturated runs: one-node p50 %.0f ms, p99 %.0f ms; "
                        + "federated p50 %.0f ms, p99 %.0f ms (mostly waiting: the submitter offers more than the node sends)",
                    Self.percentile(oneNode.flatMap(\.latencies).sorted(), 0.50), Self.percentile(oneNode.flatMap(\.latencies).sorted(), 0.99),
                    Self.percentile(federated.flatMap(\.latencies).sorted(), 0.50), Self.percentile(federated.flatMap(\.latencies).sorted(), 0.99)))
        output.flush()
        try await paced(pair, rate: fed.rate * Self.pacedShare, first: &firstId, transfers: transfers, prefix: prefix, output: output)
        try await checks(of: federated.last?.envelopes ?? [], trust: pair.xinsheng.trust, prefix: prefix, output: output)
        try await otherSteps(of: federated.last?.envelopes ?? [], at: pair.xinsheng, prefix: prefix, output: output)
        try await loneBatches(pair, first: &firstId, transfers: transfers, prefix: prefix, output: output)
        output.flush()
    }

    /// The receiver's signature checks of one batch (`checkedBatch` envelopes that arrived):
    /// `Envelope.verify` one after the other, and as xinsheng-node does (on every core at once).
    func checks(of batch: [[UInt8]], trust: TrustStore, prefix: String, output: some BenchmarkOutput) async throws {
        let checks = try batch.map { bytes in
            let envelope = try Envelope(json: JSONParser.parse(bytes))
            guard let created = envelope.createdAt.flatMap(Timestamp.date) else { throw BenchmarkError.software("an envelope that xinsheng-node accepted has no createdAt") }
            return (envelope: envelope, time: created)
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // Best of three each: the machine is shared.
        var serial = Double.infinity
        var concurrent = Double.infinity
        for _ in 0..<3 {
            for width in [1, cores] {
                let start = ContinuousClock.now
                let results = await Envelope.verifyEach(checks, trust: trust, width: width)
                let elapsed = Self.milliseconds(ContinuousClock.now - start)
                if results.contains(where: { if case .failure = $0 { true } else { false } }) {
                    throw BenchmarkError.software("an envelope that xinsheng-node accepted does not verify")
                }
                if width == 1 { serial = min(serial, elapsed) } else { concurrent = min(concurrent, elapsed) }
            }
        }
        output.line(
            prefix
                + String(
                    format: "receiver's signature checks of a batch of %d (Envelope.verify, best of 3): %.1f ms one after the other, "
                        + "%.1f ms on %d cores at once (as xinsheng-node checks them)",
                    checks.count, serial, concurrent, cores))
    }

    /// Two other steps of the receiver for one batch, timed alone: reading the envelopes (parse,
    /// `Envelope(json:)`, the canonical bytes of header and envelope it keeps) and looking each id
    /// up in its queue (ids it does not hold: the usual case), one after the other (`storedEnvelope`)
    /// and, as xinsheng-node does, in one query (`storedEnvelopes(ids:)`).
    func otherSteps(of batch: [[UInt8]], at gateway: Gateway, prefix: String, output: some BenchmarkOutput) async throws {
        var reading = Double.infinity
        var lookups = Double.infinity
        var batched = Double.infinity
        for _ in 0..<3 {
            var start = ContinuousClock.now
            var bytes = 0
            for item in batch {
                let envelope = try Envelope(json: JSONParser.parse(item))
                bytes += JSONValue.object(envelope.header).canonicalBytes().count + envelope.canonicalBytes().count
            }
            reading = min(reading, Self.milliseconds(ContinuousClock.now - start))
            guard bytes > 0 else { throw BenchmarkError.software("no envelope bytes") }
            start = ContinuousClock.now
            for _ in batch where try await gateway.queue.storedEnvelope(id: UUID().uuidString) != nil {
                throw BenchmarkError.software("a random envelope id is stored")
            }
            lookups = min(lookups, Self.milliseconds(ContinuousClock.now - start))
            start = ContinuousClock.now
            guard try await gateway.queue.storedEnvelopes(ids: batch.map { _ in UUID().uuidString }).isEmpty else {
                throw BenchmarkError.software("a random envelope id is stored")
            }
            batched = min(batched, Self.milliseconds(ContinuousClock.now - start))
        }
        output.line(
            prefix
                + String(
                    format: "receiver's other steps of a batch of %d (best of 3): reading the envelopes %.1f ms, looking their ids up "
                        + "one after the other %.1f ms, in one query %.1f ms (as xinsheng-node does)",
                    batch.count, reading, lookups, batched))
    }

    /// Transfers of a batch alone: documents of `checkedBatch` records submitted one at a time
    /// and each waited for, so that the forwarder sends each as one batch while nothing else runs
    /// (during the runs, renshi-node submits and its forwarder settles on the same database).
    func loneBatches(
        _ pair: NodePair, first: inout Int, transfers: borrowing Mutex<[Transfer]>, prefix: String, output: some BenchmarkOutput
    ) async throws {
        transfers.withLock { $0.removeAll() }
        let lone = FederationBenchmark(
            mappingsDirectory: mappingsDirectory, seedsDirectory: seedsDirectory, records: Self.checkedBatch, documentsOf: Self.checkedBatch,
            algorithms: algorithms, rounds: 1)
        for _ in 0..<Self.loneBatches {
            _ = try await lone.measure(from: pair.renshi, to: pair.xinsheng, first: &first, records: Self.checkedBatch)
            try await pair.settle()
        }
        let taken = transfers.withLock { $0 }
        let durations = taken.map(\.seconds).sorted()
        output.line(
            prefix
                + String(
                    format: "transfer of a batch alone (%d documents of %d records, each waited for): %d batches, %.0f messages/batch, "
                        + "p50 %.1f ms, max %.1f ms",
                    Self.loneBatches, Self.checkedBatch, taken.count, Double(taken.reduce(0) { $0 + $1.messages }) / Double(max(1, taken.count)),
                    Self.percentile(durations, 0.50) * 1e3, (durations.last ?? 0) * 1e3))
    }

    /// The paced runs offer this share of the federated rate measured in the saturated runs.
    static let pacedShare = 0.5

    /// What the transfer adds when the machine is not saturated by the submitter: a one-node and
    /// a federated run (in that order) of `records` / 2 records, documents submitted at `rate`
    /// records/s; renshi-node's transfers during the federated one (lease → POST → answer → acks
    /// stored), and each record's latency from its submit start to its arrival in both modes: the
    /// difference of the medians is what the node-to-node transfer adds to a record.
    func paced(
        _ pair: NodePair, rate: Double, first: inout Int, transfers: borrowing Mutex<[Transfer]>, prefix: String, output: some BenchmarkOutput
    ) async throws {
        guard rate > 0 else { return }
        let interval = Duration.seconds(Double(documentsOf) / rate)
        let count = max(documentsOf, records / 2)
        let one = try await measure(from: pair.oneNode, to: pair.oneNode, first: &first, records: count, interval: interval)
        try await pair.settle()
        transfers.withLock { $0.removeAll() }
        let fed = try await measure(from: pair.renshi, to: pair.xinsheng, first: &first, records: count, interval: interval)
        try await pair.settle()
        let taken = transfers.withLock { $0 }
        let durations = taken.map(\.seconds).sorted()
        let oneLatency = one.latencies.sorted()
        let fedLatency = fed.latencies.sorted()
        output.line(
            prefix
                + String(
                    format: "paced runs (%d records each, a document of %d every %.0f ms: %.0f records/s, %.0f%% of the federated rate above): "
                        + "transfer renshi-node → xinsheng-node %d batches, %.0f messages/batch, p50 %.1f ms, p99 %.1f ms, max %.1f ms (goal p99 < 100 ms); "
                        + "record latency one-node p50 %.0f / p99 %.0f ms, federated p50 %.0f / p99 %.0f ms: "
                        + "federation adds p50 %.0f ms (a difference of p99s says little: one-node's p99 is as noisy as the machine)",
                    count, documentsOf, Self.milliseconds(interval), rate, Self.pacedShare * 100, taken.count,
                    Double(taken.reduce(0) { $0 + $1.messages }) / Double(max(1, taken.count)), Self.percentile(durations, 0.50) * 1e3,
                    Self.percentile(durations, 0.99) * 1e3, (durations.last ?? 0) * 1e3, Self.percentile(oneLatency, 0.50),
                    Self.percentile(oneLatency, 0.99), Self.percentile(fedLatency, 0.50), Self.percentile(fedLatency, 0.99),
                    Self.percentile(fedLatency, 0.50) - Self.percentile(oneLatency, 0.50)))
        output.flush()
    }

    /// How many batches `loneBatches` sends.
    static let loneBatches = 5

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
    }

    /// Records over seconds of every run together.
    static func total(_ runs: [Run]) -> Run {
        Run(records: runs.reduce(0) { $0 + $1.records }, seconds: runs.reduce(0) { $0 + $1.seconds }, cpu: runs.reduce(0) { $0 + $1.cpu })
    }

    /// The nearest-rank percentile `p` of sorted values (0 when there are none).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    /// Submits `records` new Sichuan traffic records as renshi at `sender` while xinsheng's inbox
    /// at `receiver` is leased; the time runs from the first submit to the last arrival.
    /// With `interval`, the documents are submitted that far apart (a paced run: the submitter
    /// does not saturate the machine), else one after the other.
    func measure(from sender: Gateway, to receiver: Gateway, first: inout Int, records: Int, interval: Duration? = nil) async throws -> Run {
        let documents = (0..<max(1, records / documentsOf)).map { index in
            SyntheticDocuments.scTraffic(records: documentsOf, firstId: first + index * documentsOf)
        }
        let starts = SubmitStarts(first: first, documentsOf: documentsOf, documents: documents.count)
        first += documents.count * documentsOf
        let expected = documents.count * documentsOf
        let cpuStart = CPUTime.process()
        let start = ContinuousClock.now
        let receiving = Task { try await Self.arrivals(at: receiver, expected: expected, start: start, starts: starts) }
        do {
            for (index, document) in documents.enumerated() {
                if let interval { try await Task.sleep(until: start + interval * index, clock: .continuous) }
                starts.started(index)
                let outcome = try await sender.submit(document, mappingID: nil, submitter: "renshi")
                guard outcome.accepted == documentsOf else {
                    throw BenchmarkError.invalid("a document of \(documentsOf) records had \(outcome.accepted) accepted")
                }
            }
        } catch {
            receiving.cancel()
            throw error
        }
        let (elapsed, envelopes, latencies) = try await receiving.value
        let cpu = CPUTime.process() - cpuStart
        return Run(records: expected, seconds: Double(Self.milliseconds(elapsed)) / 1e3, cpu: cpu, envelopes: envelopes, latencies: latencies)
    }

    /// Leases xinsheng's inbox at `gateway` (up to 1000 at a time, for a day: never acked) until
    /// `expected` messages arrived; returns the time from `start` to the last arrival and the
    /// envelopes of the first `checkedBatch` messages, and each record's latency (ms) from its
    /// document's submit start (`starts`) to the lease that found it.
    static func arrivals(
        at gateway: Gateway, expected: Int, start: ContinuousClock.Instant, starts: SubmitStarts
    ) async throws -> (Duration, [[UInt8]], [Double]) {
        var got = 0
        var last = start
        var envelopes: [[UInt8]] = []
        var latencies: [Double] = []
        let deadline = start + .seconds(120 + expected / 50)
        while got < expected {
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError.invalid("only \(got) of \(expected) records reached xinsheng's inbox within \(deadline - start)")
            }
            let leased = try await gateway.queue.lease(participant: "xinsheng", max: 1000, visibility: 86_400)
            if leased.isEmpty {
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            got += leased.count
            last = ContinuousClock.now
            for message in leased {
                guard let submitted = starts.start(of: message.recordId) else {
                    throw BenchmarkError.software("record \(message.recordId) arrived from no document of this run")
                }
                latencies.append(milliseconds(last - submitted))
            }
            for message in leased.prefix(checkedBatch - envelopes.count) { envelopes.append(message.envelope) }
        }
        return (last - start, envelopes, latencies)
    }
}

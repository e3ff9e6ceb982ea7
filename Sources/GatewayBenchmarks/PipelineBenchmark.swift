import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueueSQLite
import GatewayServer
import GatewaySigning
import GatewayXML

/// `xgw bench pipeline`: the server's submit path (`SubmitPipeline`: translate → route → sign →
/// enqueue, SQLite, durable → JSON answer) for single-record and 100-record Sichuan traffic
/// documents, with a per-stage breakdown of the CPU time; per algorithm, the raw sign rate of
/// `openssl speed` measured before and after its rows, and each row's records/s per core as a
/// multiple of it (issue 18's goal for SM2-SM3 with 100-record documents: ≥ 8×).
public struct PipelineBenchmark {
    public var translator: Translator
    public var routes: Routes
    /// Records to push through per configuration.
    public var records: Int
    /// Signature algorithms by name (`ES256`, `SM2-SM3`, `Ed25519`); an unknown one stops the run when its turn comes.
    public var algorithms: [String]
    /// Records per document.
    public var batches: [Int]
    /// Signing modes to measure: true seals a document's envelopes as one batch signature (what
    /// `xgw serve` does by default, `signing.batch`), false one signature per envelope.
    public var signings: [Bool]
    /// Seconds `openssl speed` runs for, before and after each algorithm; 0: no floor.
    public var floorSeconds: Int
    /// `--documents FILE…`: these documents instead of synthetic Sichuan traffic ones (`batches`
    /// then unused; `records` is reached by submitting them all again, pass after pass).
    public var documents: BenchDocuments?

    public init(
        translator: Translator, routes: Routes, records: Int, algorithms: [String], batches: [Int], signings: [Bool] = [true],
        floorSeconds: Int = 3, documents: BenchDocuments? = nil
    ) {
        self.translator = translator
        self.routes = routes
        self.records = records
        self.algorithms = algorithms
        self.batches = batches
        self.signings = signings
        self.floorSeconds = floorSeconds
        self.documents = documents
    }

    public func run(output: some BenchmarkOutput) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let given = try documents.map { try submittable($0, output: output) }
        output.line("pipeline: the server's submit path (SubmitPipeline): translate → route → sign → enqueue (SQLite WAL, synchronous=FULL, one transaction per document) → JSON answer")
        output.line("records/s: wall; rec/s/core: records per CPU second; ×floor: rec/s/core ÷ openssl speed's signatures/s")
        if given != nil {
            output.line("rec/doc: mean over the documents; each pass submits every document once, to a new queue")
        }
        output.line("alg      signing rec/doc  records/s  rec/s/core ×floor  µs/rec   parse   map+val  route   sign    serial  append  answer   (µs per record, CPU)")
        var firstId = 0
        for algorithmName in algorithms {
            guard let algorithm = SignatureAlgorithm(name: algorithmName) else { throw BenchmarkError.invalid("unknown algorithm \(algorithmName)") }
            var signers: [String: Signer] = [:]
            func signer(_ office: String) throws -> Signer {
                if let known = signers[office] { return known }
                let name = translator.seeds.participants.first { $0.id == office }?.name ?? office
                let made = try BenchOffice(algorithm, officeID: office, commonName: name).signer
                signers[office] = made
                return made
            }
            let floorBefore = floorSeconds > 0 ? OpenSSLSpeed.signRate(algorithm, seconds: floorSeconds) : nil
            var rows: [(line: String, perCore: Double)] = []
            for (batch, batched) in (given == nil ? batches : [0]).flatMap({ batch in signings.map { (batch, $0) } }) {
                // Passes of (document, submitter), each to a new queue.
                var passes: [[(bytes: [UInt8], submitter: String)]] = []
                if let given {
                    let perPass = max(1, given.reduce(0) { $0 + $1.records })
                    let pass = given.map { ($0.bytes, $0.submitters.first ?? Self.anyOffice(translator)) }
                    passes = Array(repeating: pass, count: max(1, (records + perPass - 1) / perPass))
                } else {
                    var pass: [(bytes: [UInt8], submitter: String)] = []
                    for _ in 0..<max(1, records / batch) {
                        pass.append((SyntheticDocuments.scTraffic(records: batch, firstId: firstId), "renshi"))
                        firstId += batch
                    }
                    passes = [pass]
                }
                let measured = try await measure(
                    passes, signer: signer, batched: batched, queuePath: { "\(dir)/\(algorithmName)-\(batch)-\(batched)-\($0).sqlite" })
                if given == nil, measured.counts.accepted != passes[0].count * batch {
                    throw BenchmarkError.invalid("only \(measured.counts.accepted) of \(passes[0].count * batch) records were enqueued")
                }
                let n = Double(measured.records)
                func us(_ s: Double) -> String { String(format: "%-7.1f", s / n * 1e6) }
                func us(_ stage: StageTimer.Stage) -> String { us(measured.timer.seconds[stage] ?? 0) }
                let perDocument = given.map { String(format: "%.1f", Double($0.reduce(0) { $0 + $1.records }) / Double($0.count)) }
                // The pipeline's translate stage includes parsing; map+validate = translate - parse.
                rows.append((
                    algorithmName.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + (batched ? "batch   " : "single  ")
                        + (perDocument ?? String(batch)).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(format: "%-10.0f %-10.0f ", n / measured.wall, n / measured.cpu) + "%@"
                        + String(format: "%-7.1f  ", measured.cpu / n * 1e6)
                        + us(measured.parse) + " " + us((measured.timer.seconds[.translate] ?? 0) - measured.parse) + " " + us(.route) + " "
                        + us(.sign) + " " + us(.serialize) + " " + us(.append) + " " + us(measured.answer)
                        + (given == nil ? "" : "\n         per pass: \(measured.counts.records) records: \(measured.counts.accepted) accepted, \(measured.counts.duplicates) duplicates, \(measured.counts.rejected) rejected; \(passes.count) pass(es)"),
                    n / measured.cpu))
            }
            let floorAfter = floorSeconds > 0 ? OpenSSLSpeed.signRate(algorithm, seconds: floorSeconds) : nil
            let floors = [floorBefore, floorAfter].compactMap { $0 }
            let floor = floors.isEmpty ? nil : floors.reduce(0, +) / Double(floors.count)
            for row in rows {
                let ratio = floor.map { String(format: "%-6.1f ", row.perCore / $0) } ?? "-      "
                output.line(row.line.replacingOccurrences(of: "%@", with: ratio))
            }
            if let floor {
                output.line(String(
                    format: "%@ floor: openssl speed %@ signs %.0f/s (before %@, after %@)", algorithmName, OpenSSLSpeed.name(algorithm), floor,
                    floorBefore.map { String(format: "%.0f", $0) } ?? "-", floorAfter.map { String(format: "%.0f", $0) } ?? "-"))
            }
            output.flush()
        }
        if documents == nil, algorithms.contains("SM2-SM3"), batches.contains(100) {
            output.line("goal (issue 18): SM2-SM3, batch signing, 100-record documents: ×floor ≥ 8")
        }
    }

    /// What one configuration measured, over all its passes.
    struct Measured {
        /// Records submitted (all passes), the divisor of every per-record figure.
        var records = 0
        /// What became of the records of one pass (every pass must come to the same).
        var counts = Counts()
        var wall = 0.0, cpu = 0.0, parse = 0.0, answer = 0.0
        let timer = StageTimer(clock: CPUTime.process)
    }

    struct Counts: Equatable {
        var records = 0, accepted = 0, duplicates = 0, rejected = 0
    }

    /// Submits each pass's documents, each pass to a new queue database (so a document submitted
    /// again is not a duplicate of the last pass's), timing the submissions only.
    func measure(
        _ passes: [[(bytes: [UInt8], submitter: String)]], signer: (String) throws -> Signer, batched: Bool,
        queuePath: (Int) -> String
    ) async throws -> Measured {
        var measured = Measured()
        for (number, pass) in passes.enumerated() {
            let path = queuePath(number)
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            let queue = try SQLiteMessageQueue(path: path)
            let pipeline = SubmitPipeline(translator: translator, routes: routes, queue: queue, batchSignatures: batched)
            let signers = try pass.map { try signer($0.submitter) }
            // Parse alone (libxml2 DOM, or the JSON parser), to split translate into parse and map+validate.
            var start = CPUTime.process()
            for document in pass { Self.parseAlone(document.bytes) }
            measured.parse += CPUTime.process() - start

            var counts = Counts()
            let wallStart = DispatchTime.now().uptimeNanoseconds
            let cpuStart = CPUTime.process()
            for (document, signer) in zip(pass, signers) {
                let outcome = try await pipeline.run(
                    document.bytes, mappingID: documents?.format, submitter: document.submitter, signer: signer, timer: measured.timer)
                start = CPUTime.process()
                _ = outcome.json().canonicalBytes()  // the answer as the server sends it
                measured.answer += CPUTime.process() - start
                counts.records += outcome.summary.records
                counts.accepted += outcome.accepted
                counts.duplicates += outcome.duplicates
                counts.rejected += outcome.rejected
            }
            measured.cpu += CPUTime.process() - cpuStart
            measured.wall += Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
            if number == 0 {
                measured.counts = counts
            } else if counts != measured.counts {
                throw BenchmarkError.invalid("pass \(number + 1) came to \(counts), the first to \(measured.counts)")
            }
            measured.records += counts.records
        }
        guard measured.records > 0 else { throw BenchmarkError.invalid("the documents hold no record") }
        return measured
    }

    static func parseAlone(_ bytes: [UInt8]) {
        // JSON starts with `{` or `[` after a BOM and white space, as the translator sniffs it.
        let first = bytes.first { ![0xEF, 0xBB, 0xBF, 0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            _ = try? JSONParser.parse(bytes)
        } else {
            _ = try? XMLDocument.parse(bytes)
        }
    }
}

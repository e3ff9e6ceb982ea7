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

    public init(
        translator: Translator, routes: Routes, records: Int, algorithms: [String], batches: [Int], signings: [Bool] = [true],
        floorSeconds: Int = 3
    ) {
        self.translator = translator
        self.routes = routes
        self.records = records
        self.algorithms = algorithms
        self.batches = batches
        self.signings = signings
        self.floorSeconds = floorSeconds
    }

    public func run(output: some BenchmarkOutput) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        output.line("pipeline: the server's submit path (SubmitPipeline): translate → route → sign → enqueue (SQLite WAL, synchronous=FULL, one transaction per document) → JSON answer")
        output.line("records/s: wall; rec/s/core: records per CPU second; ×floor: rec/s/core ÷ openssl speed's signatures/s")
        output.line("alg      signing rec/doc  records/s  rec/s/core ×floor  µs/rec   parse   map+val  route   sign    serial  append  answer   (µs per record, CPU)")
        var firstId = 0
        for algorithmName in algorithms {
            guard let algorithm = SignatureAlgorithm(name: algorithmName) else { throw BenchmarkError.invalid("unknown algorithm \(algorithmName)") }
            let signer = try BenchOffice(algorithm, officeID: "renshi", commonName: "任市镇川渝联合执法办公室").signer
            let floorBefore = floorSeconds > 0 ? OpenSSLSpeed.signRate(algorithm, seconds: floorSeconds) : nil
            var rows: [(line: String, perCore: Double)] = []
            for (batch, batched) in batches.flatMap({ batch in signings.map { (batch, $0) } }) {
                let queue = try SQLiteMessageQueue(path: "\(dir)/\(algorithmName)-\(batch)-\(batched).sqlite")
                let pipeline = SubmitPipeline(translator: translator, routes: routes, queue: queue, batchSignatures: batched)
                let docCount = max(1, records / batch)
                var documents: [[UInt8]] = []
                for _ in 0..<docCount {
                    documents.append(SyntheticDocuments.scTraffic(records: batch, firstId: firstId))
                    firstId += batch
                }
                // Parse alone (libxml2 DOM), to split translate into parse and map+validate.
                var start = CPUTime.process()
                for d in documents { _ = try? XMLDocument.parse(d) }
                let parse = CPUTime.process() - start

                let timer = StageTimer(clock: CPUTime.process)
                var answer = 0.0
                let wallStart = DispatchTime.now().uptimeNanoseconds
                let cpuStart = CPUTime.process()
                var total = 0
                for d in documents {
                    let outcome = try await pipeline.run(d, mappingID: nil, submitter: "renshi", signer: signer, timer: timer)
                    start = CPUTime.process()
                    _ = outcome.json().canonicalBytes()  // the answer as the server sends it
                    answer += CPUTime.process() - start
                    total += outcome.accepted
                }
                let cpu = CPUTime.process() - cpuStart
                let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
                guard total == docCount * batch else { throw BenchmarkError.invalid("only \(total) of \(docCount * batch) records were enqueued") }
                let n = Double(total)
                func us(_ s: Double) -> String { String(format: "%-7.1f", s / n * 1e6) }
                func us(_ stage: StageTimer.Stage) -> String { us(timer.seconds[stage] ?? 0) }
                // The pipeline's translate stage includes parsing; map+validate = translate - parse.
                rows.append((
                    algorithmName.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + (batched ? "batch   " : "single  ")
                        + String(batch).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(format: "%-10.0f %-10.0f ", n / wall, n / cpu) + "%@"
                        + String(format: "%-7.1f  ", cpu / n * 1e6)
                        + us(parse) + " " + us((timer.seconds[.translate] ?? 0) - parse) + " " + us(.route) + " "
                        + us(.sign) + " " + us(.serialize) + " " + us(.append) + " " + us(answer),
                    n / cpu))
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
        if algorithms.contains("SM2-SM3"), batches.contains(100) {
            output.line("goal (issue 18): SM2-SM3, batch signing, 100-record documents: ×floor ≥ 8")
        }
    }
}

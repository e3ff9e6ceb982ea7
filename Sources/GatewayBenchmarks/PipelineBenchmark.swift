import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueueSQLite
import GatewayServer
import GatewaySigning
import GatewayXML

/// `xgw bench pipeline`: the server's submit path (`SubmitPipeline`: translate → route → sign →
/// enqueue, SQLite, durable → JSON answer) for single-record and 100-record Sichuan traffic
/// documents, with a per-stage breakdown of the CPU time.
public struct PipelineBenchmark {
    public var translator: Translator
    public var routes: Routes
    /// Records to push through per configuration.
    public var records: Int
    /// Signature algorithms by name (`ES256`, `SM2-SM3`, `Ed25519`); an unknown one stops the run when its turn comes.
    public var algorithms: [String]
    /// Records per document.
    public var batches: [Int]

    public init(translator: Translator, routes: Routes, records: Int, algorithms: [String], batches: [Int]) {
        self.translator = translator
        self.routes = routes
        self.records = records
        self.algorithms = algorithms
        self.batches = batches
    }

    public func run(output: some BenchmarkOutput) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        output.line("pipeline: the server's submit path (SubmitPipeline): translate → route → sign → enqueue (SQLite WAL, synchronous=FULL, one transaction per document) → JSON answer")
        output.line("alg      rec/doc  records/s  µs/rec   parse   map+val  route   sign    serial  append  answer   (µs per record, CPU)")
        var firstId = 0
        for algorithmName in algorithms {
            guard let algorithm = SignatureAlgorithm(name: algorithmName) else { throw BenchmarkError.invalid("unknown algorithm \(algorithmName)") }
            let signer = try BenchOffice(algorithm, officeID: "renshi", commonName: "任市镇川渝联合执法办公室").signer
            for batch in batches {
                let queue = try SQLiteMessageQueue(path: "\(dir)/\(algorithmName)-\(batch).sqlite")
                let pipeline = SubmitPipeline(translator: translator, routes: routes, queue: queue)
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
                output.line(
                    algorithmName.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(batch).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(format: "%-10.0f %-7.1f  ", n / wall, cpu / n * 1e6)
                        + us(parse) + " " + us((timer.seconds[.translate] ?? 0) - parse) + " " + us(.route) + " "
                        + us(.sign) + " " + us(.serialize) + " " + us(.append) + " " + us(answer))
                output.flush()
            }
        }
    }
}

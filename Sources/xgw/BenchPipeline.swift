import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueue
import GatewayQueueSQLite
import GatewayServer
import GatewaySigning
import GatewayXML

/// `xgw bench pipeline`: the server's submit path (`SubmitPipeline`: translate → route → sign →
/// enqueue, SQLite, durable → JSON answer) for single-record and 100-record Sichuan traffic
/// documents, with a per-stage breakdown of the CPU time.
struct BenchPipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Measure the full pipeline (translate, sign, route, durable enqueue) with a per-stage breakdown.")

    @OptionGroup var mappingOptions: MappingOptions

    @Option(help: "Records to push through per configuration.")
    var records = 20_000

    @Option(help: "Signature algorithms, comma separated.")
    var algorithms = "ES256,SM2-SM3"

    @Option(help: "Records per document, comma separated.")
    var batches = "100,1"

    func run() async throws {
        let translator = try mappingOptions.translator()
        let routes = try Routes.load(directory: mappingOptions.mappingsDirectory, seeds: translator.seeds)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        Console.out.line("pipeline: the server's submit path (SubmitPipeline): translate → route → sign → enqueue (SQLite WAL, synchronous=FULL, one transaction per document) → JSON answer")
        Console.out.line("alg      rec/doc  records/s  µs/rec   parse   map+val  route   sign    serial  append  answer   (µs per record, CPU)")
        var firstId = 0
        for algorithmName in algorithms.split(separator: ",").map(String.init) {
            guard let algorithm = SignatureAlgorithm(name: algorithmName) else { throw ValidationError("unknown algorithm \(algorithmName)") }
            let signer = try BenchOffice(algorithm, officeID: "renshi", commonName: "任市镇川渝联合执法办公室").signer
            for batch in batches.split(separator: ",").compactMap({ Int($0) }) {
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
                guard total == docCount * batch else { throw ValidationError("only \(total) of \(docCount * batch) records were enqueued") }
                let n = Double(total)
                func us(_ s: Double) -> String { String(format: "%-7.1f", s / n * 1e6) }
                func us(_ stage: StageTimer.Stage) -> String { us(timer.seconds[stage] ?? 0) }
                // The pipeline's translate stage includes parsing; map+validate = translate - parse.
                Console.out.line(
                    algorithmName.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(batch).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(format: "%-10.0f %-7.1f  ", n / wall, cpu / n * 1e6)
                        + us(parse) + " " + us((timer.seconds[.translate] ?? 0) - parse) + " " + us(.route) + " "
                        + us(.sign) + " " + us(.serialize) + " " + us(.append) + " " + us(answer))
                Console.out.flush()
            }
        }
    }
}

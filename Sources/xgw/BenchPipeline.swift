import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueue
import GatewayQueueSQLite
import GatewaySigning
import GatewayXML

/// `xgw bench pipeline`: translate → sign → route → enqueue (SQLite, durable) per record, for
/// single-record and 100-record Sichuan traffic documents, with a per-stage breakdown.
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

    struct Stages {
        var parse = 0.0, translate = 0.0, validate = 0.0, serialize = 0.0, sign = 0.0, route = 0.0, append = 0.0
    }

    func run() async throws {
        let translator = try mappingOptions.translator()
        let routes = try Routes.load(directory: mappingOptions.mappingsDirectory, seeds: translator.seeds)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        Console.out.line("pipeline: translate → sign → route → enqueue (SQLite WAL, synchronous=FULL, one transaction per document)")
        Console.out.line("alg      rec/doc  records/s  µs/rec   parse   map+val  serial  sign    route   append   (µs per record, CPU)")
        var firstId = 0
        for algorithmName in algorithms.split(separator: ",").map(String.init) {
            guard let algorithm = SignatureAlgorithm(name: algorithmName) else { throw ValidationError("unknown algorithm \(algorithmName)") }
            let ca = try CertificateAuthority.create(algorithm: algorithm, commonName: "bench root")
            let key = try PrivateKey.generate(algorithm)
            let cert = try ca.issue(
                officeID: "renshi", commonName: "任市镇川渝联合执法办公室", subjectKey: key.publicKey,
                notAfter: Date().addingTimeInterval(86_400))
            let signer = try Signer(key: key, certificate: cert)
            for batch in batches.split(separator: ",").compactMap({ Int($0) }) {
                let queue = try SQLiteMessageQueue(path: "\(dir)/\(algorithmName)-\(batch).sqlite")
                let docCount = max(1, records / batch)
                var documents: [[UInt8]] = []
                for _ in 0..<docCount {
                    documents.append(SyntheticDocuments.scTraffic(records: batch, firstId: firstId))
                    firstId += batch
                }
                var stages = Stages()
                // Parse alone (libxml2 DOM), to split translate into parse and map+validate.
                var t = CPUTime.process()
                for d in documents { _ = try? XMLDocument.parse(d) }
                stages.parse = CPUTime.process() - t

                let wallStart = DispatchTime.now().uptimeNanoseconds
                let cpuStart = CPUTime.process()
                var total = 0
                for d in documents {
                    var translated: [JSONValue] = []
                    translated.reserveCapacity(batch)
                    t = CPUTime.process()
                    _ = translator.translate(d) { outcome in
                        if case .translated(_, let record, _) = outcome { translated.append(record) }
                    }
                    stages.translate += CPUTime.process() - t
                    t = CPUTime.process()
                    for r in translated { _ = CanonicalValidator.validate(r) }
                    stages.validate += CPUTime.process() - t
                    var items: [EnqueueItem] = []
                    items.reserveCapacity(translated.count)
                    for record in translated {
                        t = CPUTime.process()
                        let decision = try routes.route(record, submitter: "renshi")
                        stages.route += CPUTime.process() - t
                        t = CPUTime.process()
                        let envelope = try Envelope.seal(record: record, from: "renshi", to: decision.destinations, signer: signer)
                        stages.sign += CPUTime.process() - t
                        t = CPUTime.process()
                        let bytes = envelope.canonicalBytes()
                        stages.serialize += CPUTime.process() - t
                        items.append(
                            EnqueueItem(
                                envelopeId: envelope.id ?? "", kind: envelope.kind ?? "", recordId: envelope.recordId ?? "",
                                updatedAt: record["updatedAt"]?.stringValue ?? "",
                                payloadDigest: envelope.payloadDigest?["value"]?.stringValue ?? "",
                                destinations: decision.destinations, envelope: bytes))
                    }
                    t = CPUTime.process()
                    let result = try await queue.enqueue(submitter: "renshi", items: items)
                    stages.append += CPUTime.process() - t
                    total += result.count
                }
                let cpu = CPUTime.process() - cpuStart
                let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
                guard total == docCount * batch else { throw ValidationError("only \(total) of \(docCount * batch) records were enqueued") }
                let n = Double(total)
                func us(_ s: Double) -> String { String(format: "%-7.1f", s / n * 1e6) }
                // The measured translate includes parsing and validation; the validation pass above
                // re-runs only validation, so map+validate = translate - parse.
                Console.out.line(
                    algorithmName.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(batch).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(format: "%-10.0f %-7.1f  ", n / wall, cpu / n * 1e6)
                        + us(stages.parse) + " " + us(stages.translate - stages.parse) + " " + us(stages.serialize) + " "
                        + us(stages.sign) + " " + us(stages.route) + " " + us(stages.append)
                        + String(format: "  (validate alone %.1f)", stages.validate / n * 1e6))
                Console.out.flush()
            }
        }
    }
}


import ArgumentParser
import GatewayBenchmarks
import GatewayMapping

/// `xgw bench pipeline`: the server's submit path (`SubmitPipeline`: translate → route → sign →
/// enqueue, SQLite, durable → JSON answer) with a per-stage breakdown of the CPU time.
struct BenchPipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Measure the full pipeline (translate, sign, route, durable enqueue) with a per-stage breakdown.",
        discussion: """
            With --documents FILE…: the given regional documents instead of synthetic Sichuan traffic ones \
            (--batches unused), every document once per pass, each pass to a new queue, until --records records; \
            each submitted by the office its records belong to. A document whose records belong to several \
            participants is skipped like one that does not translate. Under each row: what one pass came to.
            """)

    @OptionGroup var mappingOptions: MappingOptions

    @Option(help: "Records to push through per configuration.")
    var records = 20_000

    @Option(help: "Signature algorithms, comma separated.")
    var algorithms = "ES256,SM2-SM3"

    @Option(help: "Records per document, comma separated.")
    var batches = "100,1"

    @Option(help: "Signing modes, comma separated: batch (one signature per document, as xgw serve signs by default), single (one per envelope).")
    var signing = "batch,single"

    @Option(help: "Seconds openssl speed measures the raw sign rate for, before and after each algorithm (0: not measured).")
    var floorSeconds = 3

    @OptionGroup var documentOptions: BenchDocumentOptions

    func validate() throws {
        if records < 1 { throw ValidationError("--records needs a number of records ≥ 1") }
    }

    func run() async throws {
        let translator = try mappingOptions.translator()
        let given = try await documentOptions.load(translator)
        let benchmark = PipelineBenchmark(
            translator: translator,
            routes: try Routes.load(directory: mappingOptions.mappingsDirectory, seeds: translator.seeds),
            records: records,
            algorithms: algorithms.split(separator: ",").map(String.init),
            batches: batches.split(separator: ",").compactMap { Int($0) },
            signings: try signing.split(separator: ",").map { mode in
                switch mode {
                case "batch": true
                case "single": false
                default: throw ValidationError("--signing: '\(mode)' is not batch or single")
                }
            },
            floorSeconds: floorSeconds, documents: given)
        try await BenchmarkError.reported { try await benchmark.run(output: Console.out) }
    }
}

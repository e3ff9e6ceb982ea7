import ArgumentParser
import GatewayBenchmarks

/// `xgw bench translate`: parse + map + validate + serialize throughput per format, single core.
struct BenchTranslate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Measure translation throughput (records/s, µs/record) on synthetic documents, one core.")

    @OptionGroup var mappingOptions: MappingOptions

    @OptionGroup var documentOptions: BenchDocumentOptions

    @Option(help: "Records per document.")
    var batch = 100

    @Option(help: "Seconds to measure each format for (after a warm-up).")
    var seconds = 3.0

    func run() async throws {
        if !documentOptions.documents.isEmpty { return try await runDocuments() }
        let translator = try mappingOptions.translator()
        TranslateBenchmark(translator: translator, batch: batch, seconds: seconds).run(output: Console.out)
    }
}

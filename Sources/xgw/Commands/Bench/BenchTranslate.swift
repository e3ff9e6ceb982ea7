import ArgumentParser
import GatewayBenchmarks

/// `xgw bench translate`: parse + map + validate + serialize throughput per format, single core.
struct BenchTranslate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Measure translation throughput (records/s, µs/record) on synthetic documents, one core; then, interleaved in the same run, sc-traffic-xml against libxml2 alone parsing the same documents, and --stream against whole-document translation.")

    @OptionGroup var mappingOptions: MappingOptions

    @OptionGroup var documentOptions: BenchDocumentOptions

    @Option(help: "Records per document.")
    var batch = 100

    @Option(help: "Seconds to measure each format for (after a warm-up); each comparison takes twice that.")
    var seconds = 3.0

    @Option(help: "Rounds of the interleaved comparisons (translate vs libxml2 alone, --stream vs whole).")
    var rounds = 6

    @Option(help: "Records in the file translated with and without --stream.")
    var streamRecords = 5_000

    func run() async throws {
        if !documentOptions.documents.isEmpty { return try await runDocuments() }
        let translator = try mappingOptions.translator()
        try TranslateBenchmark(translator: translator, batch: batch, seconds: seconds, rounds: rounds, streamRecords: streamRecords)
            .run(output: Console.out)
    }
}

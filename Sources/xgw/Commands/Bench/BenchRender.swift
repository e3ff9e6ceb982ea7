import ArgumentParser
import GatewayBenchmarks

/// `xgw bench render`: rendering against translating the same records, per format, one core.
struct BenchRender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Measure rendering against translating the same records (records/s per CPU second), per format, one core.",
        discussion: """
            For each of the formats: the records (synthetic traffic documents translated, and the fixtures' \
            canonical records of cases and bulletins, cycled to --batch) are written in the format once; then \
            translating those documents, rendering the records (writing only) and rendering them as delivery \
            does (writing, then the check that translates the document back) run in turn, 50 ms slices each, \
            for --seconds. The goal (issue 14): render ÷ translate at least 1.
            """)

    @OptionGroup var mappingOptions: MappingOptions

    @Option(name: .long, help: ArgumentHelp("Folder of fixtures (the case and bulletin records).", valueName: "DIR"))
    var fixtures: String?

    @Option(help: "Records per document (a one-record format writes one document per record).")
    var batch = 100

    @Option(help: "Seconds to measure each format for (after a warm-up), shared by its three figures.")
    var seconds = 3.0

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if seconds <= 0 { throw ValidationError("--seconds must be positive") }
    }

    func run() async throws {
        let translator = try mappingOptions.translator()
        let folder = fixtures ?? Installation.folder("Fixtures")
        let records = RenderBenchmark.records(translator: translator, fixtures: folder, batch: batch)
        _ = RenderBenchmark(translator: translator, records: records, batch: batch, seconds: seconds).run(output: Console.out)
    }
}

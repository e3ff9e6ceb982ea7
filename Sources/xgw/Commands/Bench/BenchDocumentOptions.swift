import ArgumentParser
import GatewayBenchmarks
import GatewayMapping

/// `--documents FILE…` and `--format ID` of `xgw bench translate` and `xgw bench pipeline`:
/// regional documents someone else made instead of the bench's own (`BenchDocuments`).
struct BenchDocumentOptions: ParsableArguments {
    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "Measure these regional documents instead of the bench's own. A file that does not translate is reported as 'skipped FILE: reason' and left out; exit 64 only when none is left (docs/cli.md).",
            valueName: "FILE"))
    var documents: [String] = []

    @Option(help: ArgumentHelp("With --documents: read every document with this mapping instead of detecting it.", valueName: "ID"))
    var format: String?

    func validate() throws {
        if format != nil, documents.isEmpty { throw ValidationError("--format needs --documents") }
    }

    /// The documents read and translated once; nil without `--documents`.
    func load(_ translator: Translator) async throws -> BenchDocuments? {
        guard !documents.isEmpty else { return nil }
        return try await BenchmarkError.reportedValue {
            try BenchDocuments.load(paths: documents, format: format, translator: translator)
        }
    }
}

import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel

/// `xgw translate`: regional documents in, canonical records out (NDJSON), rejections on standard error.
struct TranslateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate regional documents into canonical records (NDJSON on standard output).",
        discussion: """
            Rejected records are reported on standard error, one JSON object per line. Exit status: 0 when \
            every record was translated, 65 when any was rejected, 66 when a file cannot be opened. When standard \
            error is a terminal, a large file (1 MiB or more, or streamed) shows its progress and ends with a \
            summary line there (records translated, rejected, mapping, time).
            """)

    @Option(name: .long, help: ArgumentHelp("Use this mapping instead of detecting it.", valueName: "ID"))
    var mapping: String?

    @OptionGroup var mappingOptions: MappingOptions

    @Flag(name: .long, help: "For every member of every record, show its source, raw value and transforms.")
    var explain = false

    @Flag(name: .long, help: "Stream XML files record by record whatever their size (larger than 16 MiB always are).")
    var stream = false

    @Argument(help: ArgumentHelp("Documents to translate; - for standard input.", valueName: "FILE"))
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE (or - for standard input)") }
    }

    func run() async throws {
        let translator = try mappingOptions.translator()
        if let mapping, translator.mapping(id: mapping) == nil {
            throw ValidationError(
                "no mapping '\(mapping)' in \(mappingOptions.mappingsDirectory); "
                    + Suggestion.phrase(mapping, among: translator.mappings.map(\.id)))
        }
        var anyRejected = false
        var unreadable = false
        for file in files {
            var progress = TranslationProgress(file: file, stream: stream)
            let emit: (RecordOutcome) -> Void = { outcome in
                progress?.count(outcome)
                switch outcome {
                case .translated(_, let record, let lineage):
                    if explain {
                        Explain.print(record: record, lineage: lineage, file: file)
                    } else {
                        Console.out.line(record.canonicalBytes())
                    }
                case .rejected(let rejection, let lineage):
                    if explain { Explain.print(rejection: rejection, lineage: lineage, file: file) }
                    Console.out.flush()
                    progress?.clearLine()
                    Console.err.line(rejection.json(file: file).canonicalBytes())
                    Console.err.flush()
                }
            }
            let summary: DocumentSummary
            if file == "-" {
                summary = translator.translate(try readInput(file), mappingID: mapping, explain: explain, emit: emit)
            } else {
                do {
                    summary = try translator.translate(file: file, mappingID: mapping, explain: explain, stream: stream, emit: emit)
                } catch {
                    Console.error("xgw: \(error)")
                    unreadable = true
                    continue
                }
            }
            progress?.finish(summary)
            if summary.rejected > 0 { anyRejected = true }
        }
        Console.out.flush()
        Console.err.flush()
        if unreadable { throw Exit.noInput }
        if anyRejected { throw Exit.dataError }
    }
}

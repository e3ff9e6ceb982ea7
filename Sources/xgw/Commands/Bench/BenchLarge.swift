import ArgumentParser
import Foundation
import GatewayBenchmarks

/// `xgw bench large`: translates generated Sichuan traffic batches of growing size in a child
/// process each, and reports records/s and the child's peak RSS, to show memory stays flat.
struct BenchLarge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "large",
        abstract: "Translate large generated XML batches (streamed) and report records/s and peak memory.")

    @Option(help: "Document sizes in MB, comma separated.")
    var sizes: String = "10,100,1000"

    @Option(help: ArgumentHelp("Folder for the generated documents.", valueName: "DIR"))
    var directory: String = FileManager.default.temporaryDirectory.path

    @Flag(help: "Keep the generated documents.")
    var keep = false

    func run() async throws {
        let benchmark = LargeBatchBenchmark(
            executable: URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path,
            megabytes: sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) },
            directory: directory, keep: keep)
        try await BenchmarkError.reported { try benchmark.run(output: Console.out) }
    }
}

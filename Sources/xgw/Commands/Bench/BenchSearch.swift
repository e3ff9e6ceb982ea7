import ArgumentParser
import GatewayBenchmarks

/// `xgw bench search`: one page of the console's message search (`MessageQueue.search`) per filter
/// with a large queue, on SQLite and (with --database) on PostgreSQL.
struct BenchSearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Measure one page (50) of the message search per filter with a large queue (ms/page, and ÷ the newest page).")

    @Option(help: "Messages in the queue (documents of 100, one a minute; all acked but the last 1,000 and one in a thousand dead).")
    var messages = 100_000

    @Option(help: "Rounds; each runs every search once, interleaved.")
    var rounds = 20

    @OptionGroup var storage: BenchStorageOptions

    func run() async throws {
        let benchmark = SearchBenchmark(messages: messages, rounds: rounds, directory: storage.directory, database: storage.database)
        try await BenchmarkError.reported { try await benchmark.run(output: Console.out) }
    }
}

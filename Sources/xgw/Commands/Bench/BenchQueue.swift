import ArgumentParser
import GatewayBenchmarks
import GatewayQueueSQLite

/// `xgw bench queue`: enqueue and lease+ack throughput of the SQLite queue (durable, in a fresh
/// file) and of the in-memory driver for reference.
struct BenchQueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Measure queue throughput (messages/s, µs/message): enqueue and lease+ack, batches of 100 and of 1.")

    @Option(help: "Messages per batched measurement (single-message runs use a tenth).")
    var messages = 20_000

    @Option(help: "Bytes of envelope per message.")
    var envelopeBytes = 2_048

    @OptionGroup var storage: BenchStorageOptions

    @Option(help: "SQLite synchronous setting: full (default, survives power loss) or normal (survives kill -9).")
    var synchronous = "full"

    @Option(help: ArgumentHelp(
        "PostgreSQL's own floor, run between the driver's batched measurements (default: Benchmarks/postgres/floor.sh in the current directory).",
        valueName: "PATH"))
    var floor: String?

    @Option(help: "Also measure lease+ack cost with this many messages queued against a tenth of it, every driver (0: skip).")
    var backlog = 0

    func run() async throws {
        guard let sync = SQLiteMessageQueue.Synchronous(rawValue: synchronous.uppercased()) else {
            throw ValidationError("--synchronous must be full or normal")
        }
        let benchmark = QueueBenchmark(
            messages: messages, envelopeBytes: envelopeBytes, directory: storage.directory, database: storage.database, synchronous: sync,
            floorScript: floor, backlog: backlog)
        try await BenchmarkError.reported { try await benchmark.run(output: Console.out) }
    }
}

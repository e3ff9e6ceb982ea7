import ArgumentParser
import GatewayBenchmarks

/// `xgw bench federation`: records/s from a submit at one node to the lease at the other (two
/// gateways of a throw-away alliance in this process, mutual TLS on loopback), against one gateway
/// without a `node` section in the same run, and the p50/p99 of each batch's transfer.
struct BenchFederation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation",
        abstract: "Measure node-to-node delivery (two nodes in this process) against one node, and the transfer latency.")

    @OptionGroup var mappingOptions: MappingOptions

    @Option(help: "Records per measured run.")
    var records = 10_000

    @Option(help: "Records per document.")
    var documentsOf = 100

    @Option(help: "Signature algorithms, comma separated.")
    var algorithms = "ES256,SM2-SM3"

    @Option(help: "Rounds, each one run of one node and one federated (in alternating order).")
    var rounds = 2

    func run() async throws {
        #if DEBUG
        let build = "debug build: the figures mean little, build with -c release"
        #else
        let build = "release build"
        #endif
        Console.out.line(
            "command: xgw bench federation --records \(records) --documents-of \(documentsOf) --algorithms \(algorithms) --rounds \(rounds) (\(build))")
        let benchmark = FederationBenchmark(
            mappingsDirectory: mappingOptions.mappingsDirectory, seedsDirectory: mappingOptions.seedsDirectory, records: records,
            documentsOf: documentsOf, algorithms: algorithms.split(separator: ",").map(String.init), rounds: rounds)
        try await BenchmarkError.reported { try await benchmark.run(output: Console.out) }
    }
}

import ArgumentParser

/// `xgw bench …`: throughput measurements that print records/s and per-record cost. The
/// measuring is in the GatewayBenchmarks target; these commands read the options and print.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput (records/s, µs per record) on this machine, one core.",
        subcommands: [
            BenchTranslate.self,
            BenchRender.self,
            BenchLarge.self,
            BenchPipeline.self,
            BenchSign.self,
            BenchQueue.self,
            BenchSearch.self,
            BenchFederation.self,
        ])
}

import GatewayBenchmarks

/// The benchmarks write their tables to standard output.
extension OutputStream: BenchmarkOutput {}

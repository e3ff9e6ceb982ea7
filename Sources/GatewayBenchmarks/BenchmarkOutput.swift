/// Where a benchmark writes its table: one line per figure, flushed after each so that a long run
/// shows its progress. `xgw bench` passes its buffered standard output.
public protocol BenchmarkOutput {
    func line(_ text: String)
    func flush()
}

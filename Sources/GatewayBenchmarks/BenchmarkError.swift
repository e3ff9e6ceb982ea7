/// Why a benchmark stopped without its figures.
public enum BenchmarkError: Error, CustomStringConvertible {
    /// A value it cannot use (an unknown algorithm, a bad URL), or a run that did not do what it
    /// measures (not every record enqueued): `xgw bench` reports it as a usage error (exit 64).
    case invalid(String)
    /// OpenSSL refused a key the benchmark had just generated (exit 70).
    case software(String)

    public var description: String {
        switch self {
        case .invalid(let message), .software(let message): message
        }
    }
}

import ArgumentParser
import GatewayBenchmarks

extension BenchmarkError {
    /// Runs a benchmark and reports what stops it as cli.md does: a value it cannot use as a usage
    /// error (exit 64), a failure of OpenSSL as a software error (exit 70).
    static func reported(_ body: () async throws -> Void) async throws {
        try await reportedValue(body)
    }

    /// `reported` for a body that gives a value.
    static func reportedValue<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch BenchmarkError.invalid(let message) {
            throw ValidationError(message)
        } catch BenchmarkError.software {
            throw Exit.software
        }
    }
}

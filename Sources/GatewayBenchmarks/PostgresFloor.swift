import Foundation

/// What PostgreSQL itself does for the queue's work on the same cluster: `Benchmarks/postgres/floor.sh`
/// (pgbench, one prepared statement per operation) run between the driver's own measurements, in
/// the driver's scratch schema, so that `xgw bench queue --database` prints the driver's rate as
/// a fraction of it.
struct PostgresFloor {
    /// The script (`floor.sh`).
    var script: String
    /// The server, without URL parameters (psql and pgbench take none of xgw's).
    var url: String
    var schema: String

    /// The script at `path`, or at `Benchmarks/postgres/floor.sh` under the current directory
    /// (a checkout); nil when there is none.
    static func find(_ path: String?) -> String? {
        let candidate = path ?? FileManager.default.currentDirectoryPath + "/Benchmarks/postgres/floor.sh"
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    init(script: String, url: String, schema: String) {
        self.script = script
        self.schema = schema
        // postgresql:// and postgres:// both; psql takes either. Drop `?schema=…&pool=…`.
        self.url = String(url.prefix { $0 != "?" })
    }

    /// Messages/s of `phase` (`enqueue`, `lease+ack`) over `messages` messages.
    func rate(_ phase: String, messages: Int) throws -> Double {
        let output = try run([phase, String(messages)])
        guard let rate = Double(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw BenchmarkError.software("floor.sh \(phase) printed no rate: \(output.prefix(200))")
        }
        return rate
    }

    /// Deletes the floor's rows.
    func clean() throws { _ = try run(["clean"]) }

    private func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, url, schema] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkError.software(
                "floor.sh \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                    + String(decoding: errors.prefix(300), as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }
}

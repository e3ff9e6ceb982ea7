import Foundation
import GatewayQueue
import GatewayQueuePostgres
import GatewayQueueSQLite

/// `xgw bench queue`: enqueue and lease+ack throughput of the SQLite queue (durable, in a fresh
/// file) and of the in-memory driver for reference; of PostgreSQL too when given a server.
public struct QueueBenchmark {
    /// Messages per batched measurement (single-message runs use a tenth).
    public var messages: Int
    /// Bytes of envelope per message.
    public var envelopeBytes: Int
    /// Directory for the benchmark database, a new file per run (nil: a fresh temporary directory, removed afterwards).
    public var directory: String?
    /// A PostgreSQL server (postgres://user@host:port/db) to measure too, in a scratch schema dropped afterwards.
    public var database: String?
    /// SQLite's `synchronous` setting.
    public var synchronous: SQLiteMessageQueue.Synchronous
    /// `Benchmarks/postgres/floor.sh`, run between the PostgreSQL driver's batched measurements
    /// (nil: `Benchmarks/postgres/floor.sh` under the current directory, when there is one).
    public var floorScript: String?
    /// The larger backlog of the backlog measurement (lease+ack cost with `backlog` queued against
    /// a tenth of it, every driver); 0 skips it.
    public var backlog: Int

    public init(
        messages: Int, envelopeBytes: Int, directory: String?, database: String?, synchronous: SQLiteMessageQueue.Synchronous,
        floorScript: String? = nil, backlog: Int = 0
    ) {
        self.messages = messages
        self.envelopeBytes = envelopeBytes
        self.directory = directory
        self.database = database
        self.synchronous = synchronous
        self.floorScript = floorScript
        self.backlog = backlog
    }

    public func run(output: some BenchmarkOutput) async throws {
        let base = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: base) } }

        output.line("driver             operation     batch  messages  messages/s   µs/message  cpu µs/message")
        output.flush()
        // A new file every run: messages of an earlier run would be duplicates to enqueue and
        // extra work to lease. Removed afterwards with its WAL and shared-memory files.
        let file = base.appendingPathComponent("bench-\(UUID().uuidString.lowercased()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) } }
        let sqlite = try SQLiteMessageQueue(path: file, synchronous: synchronous)
        let label = "sqlite (\(synchronous.rawValue.lowercased()))"
        try await measure(label, sqlite, output: output)
        try await measureConcurrent(label, sqlite, callers: 32, output: output)
        if backlog >= 1_000 {
            let second = base.appendingPathComponent("bench-\(UUID().uuidString.lowercased()).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: second + suffix) } }
            try await measureBacklog(
                label, small: sqlite, large: try SQLiteMessageQueue(path: second, synchronous: synchronous), output: output)
        }
        try await measure("in-memory", InMemoryMessageQueue(), output: output)
        if let database { try await measurePostgres(database, output: output) }
    }

    /// The same measurements on PostgreSQL, in a schema of its own (dropped at the end).
    private func measurePostgres(_ url: String, output: some BenchmarkOutput) async throws {
        var settings: PostgresQueueSettings
        do { settings = try PostgresQueueSettings(url: url) } catch { throw BenchmarkError.invalid("--database: \(error)") }
        settings.schema = "xgw_bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        settings.maximumConnections = max(settings.maximumConnections, 32)
        let queue = PostgresMessageQueue(settings: settings)
        let running = Task { await queue.run() }
        defer { running.cancel() }
        try await queue.migrate()
        let floor = PostgresFloor.find(floorScript).map { PostgresFloor(script: $0, url: url, schema: settings.schema) }
        if floor == nil { output.line("(no Benchmarks/postgres/floor.sh here: PostgreSQL's own floor not measured; --floor PATH)") }
        do {
            try await measure("postgres", queue, output: output, floor: floor)
            try await measureConcurrent("postgres", queue, callers: 32, output: output)
            if backlog >= 1_000 {
                var second = settings
                second.schema += "_large"
                let large = PostgresMessageQueue(settings: second)
                let runningLarge = Task { await large.run() }
                defer { runningLarge.cancel() }
                try await large.migrate()
                do {
                    try await measureBacklog("postgres", small: queue, large: large, output: output)
                } catch {
                    try? await large.dropSchema()
                    throw error
                }
                try await large.dropSchema()
            }
            try await measureSearchIndexes(settings, output: output)
        } catch {
            try? await queue.dropSchema()
            throw error
        }
        try await queue.dropSchema()
    }

    /// What the message search's indexes (`PostgresMessageQueue.searchIndexes`) cost: enqueue and
    /// lease+ack in batches of 100 on two fresh schemas, one with them and one without, taking
    /// turns batch by batch so that the shared machine's load weighs on both alike.
    private func measureSearchIndexes(_ settings: PostgresQueueSettings, output: some BenchmarkOutput) async throws {
        let total = max(messages / 2, 1_000) / 100 * 100
        let body = Array(repeating: UInt8(ascii: "x"), count: envelopeBytes)
        let run = UUID().uuidString.prefix(8).lowercased()
        var queues: [PostgresMessageQueue] = []
        var runs: [Task<Void, Never>] = []
        defer { for running in runs { running.cancel() } }
        for suffix in ["_indexed", "_unindexed"] {
            var scratch = settings
            scratch.schema += suffix
            let queue = PostgresMessageQueue(settings: scratch)
            runs.append(Task { await queue.run() })
            try await queue.migrate()
            queues.append(queue)
        }
        do {
            try await queues[1].dropSearchIndexes()
            var enqueue = [0.0, 0.0], leaseAck = [0.0, 0.0]
            for start in stride(from: 0, to: total, by: 100) {
                for index in 0..<2 {
                    let items = (start..<(start + 100)).map { n in
                        EnqueueItem(
                            envelopeId: "\(run)-\(index)-\(n)", kind: "traffic-violation", recordId: "s-\(run)-\(n)",
                            updatedAt: "2026-01-01T00:00:00Z", payloadDigest: "s\(n)", destinations: ["xinsheng"], envelope: body)
                    }
                    let began = DispatchTime.now().uptimeNanoseconds
                    _ = try await queues[index].enqueue(submitter: "renshi", items: items)
                    enqueue[index] += Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
                }
            }
            var done = [0, 0]
            while done.contains(where: { $0 < total }) {
                for index in 0..<2 where done[index] < total {
                    let began = DispatchTime.now().uptimeNanoseconds
                    let leased = try await queues[index].lease(participant: "xinsheng", max: 100, visibility: 300)
                    if leased.isEmpty { throw QueueError(.storage, "drained early after \(done[index])") }
                    _ = try await queues[index].ack(participant: "xinsheng", leased.map { Acknowledgement(leaseToken: $0.leaseToken) })
                    leaseAck[index] += Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
                    done[index] += leased.count
                }
            }
            for (operation, seconds) in [("enqueue", enqueue), ("lease+ack", leaseAck)] {
                output.line(
                    "postgres" + " \(operation), batches of 100, \(total) messages, with / without the search indexes (in turns): "
                        + String(format: "%.0f / %.0f messages/s, %.2f× the time", Double(total) / seconds[0], Double(total) / seconds[1],
                                 seconds[0] / seconds[1]))
            }
            output.flush()
        } catch {
            for queue in queues { try? await queue.dropSchema() }
            throw error
        }
        for queue in queues { try await queue.dropSchema() }
    }

    private func measure(
        _ driver: String, _ queue: any MessageQueue, output: some BenchmarkOutput, floor: PostgresFloor? = nil
    ) async throws {
        let body = Array(repeating: UInt8(ascii: "x"), count: envelopeBytes)
        var serial = 0
        func items(_ count: Int) -> [EnqueueItem] {
            (0..<count).map { _ in
                serial += 1
                // Time-ordered ids, as UUID v7 envelope ids are.
                let millis = UInt64(Date().timeIntervalSince1970 * 1000)
                let id = String(format: "%08llx-%04llx-7%03llx-8000-%012llx", millis >> 16, millis & 0xffff, UInt64(serial >> 48) & 0xfff, UInt64(serial))
                return EnqueueItem(
                    envelopeId: id, kind: "traffic-violation", recordId: "bench-\(serial)",
                    updatedAt: "2026-01-01T00:00:00Z", payloadDigest: String(serial, radix: 16), destinations: ["xinsheng"],
                    envelope: body)
            }
        }
        for batch in [100, 1] {
            let total = batch == 1 ? messages / 10 : messages
            let documents = (0..<(total / batch)).map { _ in items(batch) }
            // PostgreSQL's own rate for the same work just before the driver's (batches of 100).
            let floorRates = batch == 100 ? floor : nil
            let enqueueFloor = try floorRates.map { try self.floorRate($0, "enqueue", messages: total, output: output) }
            try await report(driver, "enqueue", batch: batch, messages: total, floor: enqueueFloor, output: output) {
                for document in documents { _ = try await queue.enqueue(submitter: "renshi", items: document) }
            }
            var done = 0
            let leaseFloor = try floorRates.map { try self.floorRate($0, "lease+ack", messages: total, output: output) }
            try await report(driver, "lease+ack", batch: batch, messages: total, floor: leaseFloor, output: output) {
                while done < total {
                    let leased = try await queue.lease(participant: "xinsheng", max: batch, visibility: 300)
                    if leased.isEmpty { throw QueueError(.storage, "queue drained early after \(done)") }
                    _ = try await queue.ack(participant: "xinsheng", leased.map { Acknowledgement(leaseToken: $0.leaseToken) })
                    done += leased.count
                }
            }
        }
    }

    /// Single-message calls from `callers` concurrent tasks: what group commit merges.
    private func measureConcurrent(
        _ driver: String, _ queue: any MessageQueue, callers: Int, output: some BenchmarkOutput
    ) async throws {
        let total = messages / 10
        let body = Array(repeating: UInt8(ascii: "x"), count: envelopeBytes)
        let run = UUID().uuidString.prefix(8)
        let participant = "concurrent-\(run)"
        try await report(driver, "enqueue ×\(callers)", batch: 1, messages: total, output: output) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<callers {
                    group.addTask {
                        for n in stride(from: caller, to: total, by: callers) {
                            _ = try await queue.enqueue(submitter: "renshi", items: [EnqueueItem(
                                envelopeId: "\(run)-\(n)", kind: "traffic-violation", recordId: "c-\(run)-\(n)",
                                updatedAt: "2026-01-01T00:00:00Z", payloadDigest: "c\(n)", destinations: [participant],
                                envelope: body)])
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await report(driver, "lease+ack ×\(callers)", batch: 1, messages: total, output: output) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<callers {
                    group.addTask {
                        while true {
                            let leased = try await queue.lease(participant: participant, max: 1, visibility: 300)
                            guard let message = leased.first else { return }
                            try await queue.ack(participant: participant, leaseToken: message.leaseToken)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Runs one phase of PostgreSQL's floor and prints it as a line of the table.
    private func floorRate(_ floor: PostgresFloor, _ phase: String, messages: Int, output: some BenchmarkOutput) throws -> Double {
        let rate = try floor.rate(phase, messages: messages)
        if phase == "lease+ack" { try floor.clean() }
        output.line(
            "postgres floor".padding(toLength: 19, withPad: " ", startingAt: 0) + phase.padding(toLength: 14, withPad: " ", startingAt: 0)
                + "100".padding(toLength: 7, withPad: " ", startingAt: 0) + String(messages).padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%-12.0f %.1f", rate, 1e6 / rate) + "   (pgbench, Benchmarks/postgres/floor.sh)")
        output.flush()
        return rate
    }

    /// Lease+ack cost per message (batches of 100) with `backlog` queued against a tenth of it,
    /// each backlog in a store of its own (`small`, `large`: a file or a schema each, so that
    /// table and index sizes differ too) and leased in turns, one batch of each, so that the
    /// shared machine's load weighs on both alike; until `messages / 2` are acked from each (at
    /// most the smaller backlog). The ratio should stay near 1 (goal ≤ 1.5): a lease reads what it
    /// returns, never the backlog.
    private func measureBacklog(
        _ driver: String, small: any MessageQueue, large: any MessageQueue, output: some BenchmarkOutput
    ) async throws {
        guard backlog >= 1_000 else { return }
        let body = Array(repeating: UInt8(ascii: "x"), count: envelopeBytes)
        let run = UUID().uuidString.prefix(8).lowercased()
        let destination = "backlog-\(run)"
        let sizes = [backlog / 10, backlog]
        let queues = [small, large]
        let leased = min(backlog / 10, max(messages / 2, 100))
        for (queue, size) in zip(queues, sizes) {
            for start in stride(from: 0, to: size, by: 100) {
                _ = try await queue.enqueue(submitter: "renshi", items: (start..<min(start + 100, size)).map { n in
                    EnqueueItem(
                        envelopeId: "\(run)-\(size)-\(n)", kind: "traffic-violation", recordId: "b-\(run)-\(n)",
                        updatedAt: "2026-01-01T00:00:00Z", payloadDigest: "b\(n)", destinations: [destination], envelope: body)
                })
            }
        }
        var seconds = [0.0, 0.0]
        var cpu = [0.0, 0.0]
        var done = [0, 0]
        while done.contains(where: { $0 < leased }) {
            for index in 0..<2 where done[index] < leased {
                let cpuStart = CPUTime.process()
                let start = DispatchTime.now().uptimeNanoseconds
                let batch = try await queues[index].lease(participant: destination, max: 100, visibility: 300)
                if batch.isEmpty { throw QueueError(.storage, "backlog drained early after \(done[index])") }
                _ = try await queues[index].ack(participant: destination, batch.map { Acknowledgement(leaseToken: $0.leaseToken) })
                seconds[index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                cpu[index] += CPUTime.process() - cpuStart
                done[index] += batch.count
            }
        }
        for index in 0..<2 {
            output.line(
                driver.padding(toLength: 19, withPad: " ", startingAt: 0)
                    + "backlog \(sizes[index] / 1000)k".padding(toLength: 14, withPad: " ", startingAt: 0)
                    + "100".padding(toLength: 7, withPad: " ", startingAt: 0)
                    + String(done[index]).padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(
                        format: "%-12.0f %-11.1f %.1f", Double(done[index]) / seconds[index], seconds[index] / Double(done[index]) * 1e6,
                        cpu[index] / Double(done[index]) * 1e6))
        }
        output.line(
            driver + " lease+ack cost per message with \(sizes[1]) queued / with \(sizes[0]) queued (in turns): "
                + String(format: "%.2f× (goal ≤ 1.5×)", (seconds[1] / Double(done[1])) / (seconds[0] / Double(done[0]))))
        output.flush()
    }

    /// Prints one line of the table; returns the rate (messages/s).
    @discardableResult
    private func report(
        _ driver: String, _ operation: String, batch: Int, messages: Int, floor: Double? = nil, output: some BenchmarkOutput,
        _ body: () async throws -> Void
    ) async throws -> Double {
        let cpuStart = CPUTime.process()
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = CPUTime.process() - cpuStart
        output.line(
            driver.padding(toLength: 19, withPad: " ", startingAt: 0)
                + operation.padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(batch).padding(toLength: 7, withPad: " ", startingAt: 0)
                + String(messages).padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%-12.0f %-11.1f %-14.1f", Double(messages) / elapsed, elapsed / Double(messages) * 1e6, cpu / Double(messages) * 1e6)
                + (floor.map { String(format: " %.2f of the floor", Double(messages) / elapsed / $0) } ?? ""))
        output.flush()
        return Double(messages) / elapsed
    }
}

import Foundation
import GatewayQueue
import GatewayQueuePostgres
import GatewayQueueSQLite

/// `xgw bench search`: how long one page (50) of the console's message search takes with a large
/// queue, per filter, on SQLite (a fresh file) and on PostgreSQL (a scratch schema), measured
/// interleaved: every round runs each search once, and each is reported beside the plainest page
/// (the 50 newest, no filter) of the same rounds.
public struct SearchBenchmark: Sendable {
    public var messages: Int
    public var rounds: Int
    public var directory: String?
    public var database: String?

    public init(messages: Int, rounds: Int, directory: String?, database: String?) {
        self.messages = messages
        self.rounds = rounds
        self.directory = directory
        self.database = database
    }

    public func run(output: some BenchmarkOutput) async throws {
        guard messages >= 10_000, rounds >= 1 else { throw BenchmarkError.invalid("--messages must be at least 10000, --rounds at least 1") }
        let base = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: base) } }
        let file = base.appendingPathComponent("bench-\(UUID().uuidString.lowercased()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) } }

        output.line("driver    search                                               rows  median ms  p90 ms  ÷ newest page")
        output.flush()
        let clock = ManualQueueClock()
        try await measure("sqlite", try SQLiteMessageQueue(path: file, configuration: QueueConfiguration(clock: clock)), clock: clock, output: output)
        if let database {
            var settings: PostgresQueueSettings
            do { settings = try PostgresQueueSettings(url: database) } catch { throw BenchmarkError.invalid("--database: \(error)") }
            settings.schema = "xgw_bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
            let clock = ManualQueueClock()
            let queue = PostgresMessageQueue(settings: settings, configuration: QueueConfiguration(clock: clock))
            let running = Task { await queue.run() }
            defer { running.cancel() }
            try await queue.migrate()
            do {
                try await measure("postgres", queue, clock: clock, output: output)
            } catch {
                try? await queue.dropSchema()
                throw error
            }
            try await queue.dropSchema()
        }
    }

    /// Documents of 100 messages, one a minute, from ten participants each to the next; every
    /// message acked but the last 1,000 (queued) and one in a thousand (dead), as a queue that has
    /// run for a while looks.
    private func fill(_ queue: any MessageQueue, clock: ManualQueueClock) async throws {
        var n = 0
        while n < messages {
            let document = n / 100
            let items = (n..<min(n + 100, messages)).map { i in
                EnqueueItem(
                    envelopeId: "bench-\(i)", kind: i % 3 == 0 ? "bulletin" : "traffic-violation", recordId: "record-\(i)",
                    updatedAt: "2026-01-01T00:00:00Z", payloadDigest: "digest-\(i)", destinations: ["p\((document + 1) % 10)"],
                    envelope: Array(repeating: UInt8(ascii: "x"), count: 256))
            }
            _ = try await queue.enqueue(submitter: "p\(document % 10)", items: items)
            n += items.count
            clock.advance(by: 60)
        }
        let settled = messages - 1_000
        for participant in (0..<10).map({ "p\($0)" }) {
            while true {
                let leased = try await queue.lease(participant: participant, max: 500, visibility: 3_600)
                let index = { (message: LeasedMessage) in Int(message.envelopeId.dropFirst(6)) ?? 0 }
                let settle = leased.filter { index($0) < settled }
                for message in leased where index(message) >= settled {
                    try await queue.nack(participant: participant, leaseToken: message.leaseToken, error: "later")
                }
                for message in settle where index(message) % 1_000 == 999 {
                    try await queue.deadLetter(participant: participant, leaseToken: message.leaseToken, reason: "bench")
                }
                let acks = settle.filter { index($0) % 1_000 != 999 }.map { Acknowledgement(leaseToken: $0.leaseToken) }
                if !acks.isEmpty { _ = try await queue.ack(participant: participant, acks) }
                if settle.count < 500 { break }
            }
        }
    }

    private func measure(_ driver: String, _ queue: any MessageQueue, clock: ManualQueueClock, output: some BenchmarkOutput) async throws {
        let start = clock.now()
        try await fill(queue, clock: clock)
        let middle = start.addingTimeInterval(Double(messages / 100 / 2) * 60)
        let second = try await queue.search(MessageSearch(participant: "p3"), before: nil, limit: 50).next
        let searches: [(String, MessageSearch, MessageID?)] = [
            ("newest 50, no filter", MessageSearch(), nil),
            ("envelope id", MessageSearch(envelopeId: "bench-\(messages / 2)"), nil),
            ("record id", MessageSearch(recordId: "record-\(messages / 3)"), nil),
            ("participant p3", MessageSearch(participant: "p3"), nil),
            ("participant p3, its 2nd page", MessageSearch(participant: "p3"), second),
            ("p3's own view, bulletin, acked", MessageSearch(visibleTo: "p3", kind: "bulletin", states: [.acked]), nil),
            ("kind bulletin", MessageSearch(kind: "bulletin"), nil),
            ("status dead", MessageSearch(states: [.dead]), nil),
            ("status queued", MessageSearch(states: [.queued]), nil),
            ("2 h window mid-queue", MessageSearch(enqueuedFrom: middle, enqueuedTo: middle.addingTimeInterval(7_200)), nil),
            ("2 h window, p5, traffic-violation, acked",
             MessageSearch(participant: "p5", kind: "traffic-violation", states: [.acked], enqueuedFrom: middle,
                           enqueuedTo: middle.addingTimeInterval(7_200)), nil),
            ("since mid-queue, kind matching nothing", MessageSearch(kind: "none", enqueuedFrom: middle), nil),
        ]
        var times = Array(repeating: [Double](), count: searches.count)
        var rows = Array(repeating: 0, count: searches.count)
        let clockStart = ContinuousClock()
        for _ in 0..<rounds {
            for (index, (_, search, before)) in searches.enumerated() {
                let began = clockStart.now
                let page = try await queue.search(search, before: before, limit: 50)
                let took = clockStart.now - began
                times[index].append(Double(took.components.seconds) * 1_000 + Double(took.components.attoseconds) / 1e15)
                rows[index] = page.headers.count
            }
        }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
        }
        let floor = percentile(times[0], 0.5)
        for (index, (name, _, _)) in searches.enumerated() {
            let median = percentile(times[index], 0.5)
            output.line(
                driver.padding(toLength: 10, withPad: " ", startingAt: 0) + name.padding(toLength: 52, withPad: " ", startingAt: 0)
                    + String(format: "%4d  %9.2f  %6.2f  %6.1f", rows[index], median, percentile(times[index], 0.9), median / floor))
        }
        output.line("\(driver): \(messages) messages, \(rounds) rounds, one page = 50")
        output.flush()
    }
}

// A gateway node reduced to its queue traffic, for the multi-node test and the driver benchmark
// (issue 7). Output lines (one per event, flushed at once, so a SIGKILL loses at most the line
// being written):
//
//   enq <recordId> <envelopeId> <new|dup>          after an enqueue call returned
//   lease <destination> <messageId> <recordId> <token> <expiresAtMs> <visibilityMs>
//   ack <destination> <messageId>                  after the ack committed
//   ready | notready                               readiness (ping) transitions
//   produced                                       every record of the range was enqueued
//   err <operation> <code>                         a failed call (retried)
//
//   xgw-queue-pg-node node --url URL --from A --to B [--destinations pa,pb] [--visibility S] [--batch N]
//   xgw-queue-pg-node bench --url URL [--messages N] [--sqlite DIR]
//   xgw-queue-pg-node e2e --url URL|sqlite:PATH --from A --to B   (one node of the end-to-end bench)

import Foundation
import GatewayQueue
import GatewayQueuePostgres
import GatewayQueueSQLite

final class Output: @unchecked Sendable {
    static let shared = Output()
    private let lock = NSLock()
    func line(_ text: String) {
        lock.withLock { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
    }
}


func option(_ name: String, _ arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("xgw-queue-pg-node: \(message)\n".utf8))
    exit(64)
}

func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

func item(_ index: Int, destinations: [String], bytes: Int = 512) -> EnqueueItem {
    let recordId = "r-\(index)"
    return EnqueueItem(
        envelopeId: UUID().uuidString.lowercased(), kind: "traffic-violation", recordId: recordId,
        updatedAt: "2026-01-01T00:00:00Z", payloadDigest: "d-\(index)", destinations: destinations,
        envelope: Array(repeating: UInt8(ascii: "x"), count: bytes))
}

func code(_ error: any Error) -> String {
    (error as? QueueError)?.code.rawValue ?? String(describing: type(of: error))
}

/// Enqueues records `range` in documents of `batch`, retrying a document until it is stored.
func produce(_ queue: any MessageQueue, range: Range<Int>, batch: Int, destinations: [String], quiet: Bool = false) async {
    var start = range.lowerBound
    while start < range.upperBound {
        let end = min(start + batch, range.upperBound)
        let items = (start..<end).map { item($0, destinations: destinations) }
        do {
            let results = try await queue.enqueue(submitter: "renshi", items: items)
            if !quiet {
                for (item, result) in zip(items, results) {
                    Output.shared.line("enq \(item.recordId) \(result.envelopeId) \(result.duplicate ? "dup" : "new")")
                }
            }
            start = end
        } catch {
            Output.shared.line("err enqueue \(code(error))")
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
    }
    if !quiet { Output.shared.line("produced") }
}

/// Leases and acks for `destination` until cancelled (or, with `total`, until the queue holds that
/// many acked messages of the destination and nothing more to lease).
func consume(
    _ queue: any MessageQueue, destination: String, batch: Int, visibility: TimeInterval, total: Int? = nil,
    wait: @escaping @Sendable (String) async -> Void, quiet: Bool = false
) async {
    while !Task.isCancelled {
        do {
            let leased = try await queue.lease(participant: destination, max: batch, visibility: visibility)
            if leased.isEmpty {
                if let total, (try await queue.depths()[destination]?.acked ?? 0) >= total { return }
                await wait(destination)
                continue
            }
            if !quiet {
                for message in leased {
                    Output.shared.line(
                        "lease \(destination) \(message.messageId) \(message.recordId) \(message.leaseToken) "
                            + "\(millis(message.leaseExpiresAt)) \(Int64(visibility * 1000))")
                }
            }
            let results = try await queue.ack(
                participant: destination,
                leased.map { Acknowledgement(leaseToken: $0.leaseToken, receipt: Array("receipt \($0.messageId)".utf8)) })
            for (message, error) in zip(leased, results) {
                if let error {
                    if !quiet { Output.shared.line("err ack \(error.code)") }
                } else {
                    if !quiet { Output.shared.line("ack \(destination) \(message.messageId)") }
                }
            }
        } catch {
            if !quiet { Output.shared.line("err lease \(code(error))") }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
    }
}

func postgres(_ url: String) -> PostgresMessageQueue {
    do { return try PostgresMessageQueue(url: url) } catch { fail("\(error)") }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fail("usage: node | bench | e2e (see the source)") }

switch command {
case "node":
    guard let url = option("url", arguments), let from = option("from", arguments).flatMap(Int.init),
        let to = option("to", arguments).flatMap(Int.init)
    else { fail("node needs --url, --from, --to") }
    let destinations = (option("destinations", arguments) ?? "pa,pb").split(separator: ",").map(String.init)
    let visibility = option("visibility", arguments).flatMap(Double.init) ?? 2
    let batch = option("batch", arguments).flatMap(Int.init) ?? 10
    let queue = postgres(url)
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await queue.run() }
        group.addTask {
            while (try? await queue.migrate()) == nil { try? await Task.sleep(nanoseconds: 200_000_000) }
            await withTaskGroup(of: Void.self) { work in
                work.addTask {
                    var ready: Bool?
                    while !Task.isCancelled {
                        let now = (try? await queue.ping()) != nil
                        if now != ready { Output.shared.line(now ? "ready" : "notready") }
                        ready = now
                        try? await Task.sleep(nanoseconds: 100_000_000)
                    }
                }
                work.addTask { await produce(queue, range: from..<to, batch: batch, destinations: destinations) }
                for destination in destinations {
                    work.addTask {
                        await consume(queue, destination: destination, batch: batch, visibility: visibility) { participant in
                            _ = await queue.waitForMessages(participant: participant, timeout: 0.5)
                        }
                    }
                }
            }
        }
    }

case "e2e":
    // One node of the end-to-end benchmark: enqueue the range in documents of 10 while leasing
    // and acking until every message of the range's share is acked; prints the seconds taken.
    guard let url = option("url", arguments), let from = option("from", arguments).flatMap(Int.init),
        let to = option("to", arguments).flatMap(Int.init)
    else { fail("e2e needs --url, --from, --to") }
    let total = option("total", arguments).flatMap(Int.init) ?? (to - from)
    let start = Date()
    let queue: any MessageQueue
    var runner: Task<Void, Never>?
    if url.hasPrefix("sqlite:") {
        do { queue = try SQLiteMessageQueue(path: String(url.dropFirst("sqlite:".count))) } catch { fail("\(error)") }
    } else {
        let pg = postgres(url)
        runner = Task { await pg.run() }
        do { try await pg.migrate() } catch { fail("migrate: \(error)") }
        queue = pg
    }
    let wait: @Sendable (String) async -> Void
    if let pg = queue as? PostgresMessageQueue {
        wait = { participant in _ = await pg.waitForMessages(participant: participant, timeout: 0.05) }
    } else {
        wait = { _ in try? await Task.sleep(nanoseconds: 2_000_000) }
    }
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await produce(queue, range: from..<to, batch: 10, destinations: ["pa"], quiet: true) }
        group.addTask {
            await consume(queue, destination: "pa", batch: 50, visibility: 60, total: total, wait: wait, quiet: true)
        }
    }
    Output.shared.line(String(format: "%.3f", Date().timeIntervalSince(start)))
    runner?.cancel()
    await runner?.value

case "bench":
    guard let url = option("url", arguments) else { fail("bench needs --url") }
    let messages = option("messages", arguments).flatMap(Int.init) ?? 10_000
    let endToEnd = option("e2e-records", arguments).flatMap(Int.init) ?? messages
    let directory = option("sqlite", arguments) ?? FileManager.default.temporaryDirectory
        .appendingPathComponent("xgw-bench-pg-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { if option("sqlite", arguments) == nil { try? FileManager.default.removeItem(atPath: directory) } }
    var scratchURLs: [String] = []
    func scratchURL() -> String {
        let schema = "xgw_bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let scratch = url + (url.contains("?") ? "&" : "?") + "schema=\(schema)"
        scratchURLs.append(scratch)
        return scratch
    }
    func rate(_ count: Int, _ seconds: Double) -> String {
        String(format: "%9.0f/s  %7.1f µs", Double(count) / seconds, seconds / Double(count) * 1e6)
    }
    func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    Output.shared.line("driver      operation          batch  messages       rate  per message")
    do {
        let sqlite = try SQLiteMessageQueue(path: directory + "/bench.sqlite")
        let pg = postgres(scratchURL())
        let pgTask = Task { await pg.run() }
        try await pg.migrate()
        for (name, queue) in [("sqlite", sqlite as any MessageQueue), ("postgres", pg)] {
            let documents = stride(from: 0, to: messages, by: 100).map { start in
                (start..<min(start + 100, messages)).map { item($0, destinations: ["pa"], bytes: 2048) }
            }
            let enqueue = try await seconds {
                for document in documents { _ = try await queue.enqueue(submitter: "renshi", items: document) }
            }
            Output.shared.line("\(name.padding(toLength: 12, withPad: " ", startingAt: 0))enqueue            100    \(String(messages).padding(toLength: 9, withPad: " ", startingAt: 0))\(rate(messages, enqueue))")
            var done = 0
            let leaseAck = try await seconds {
                while done < messages {
                    let leased = try await queue.lease(participant: "pa", max: 100, visibility: 300)
                    if leased.isEmpty { throw QueueError(.storage, "drained early after \(done)") }
                    _ = try await queue.ack(participant: "pa", leased.map { Acknowledgement(leaseToken: $0.leaseToken) })
                    done += leased.count
                }
            }
            Output.shared.line("\(name.padding(toLength: 12, withPad: " ", startingAt: 0))lease+ack          100    \(String(messages).padding(toLength: 9, withPad: " ", startingAt: 0))\(rate(messages, leaseAck))")
        }
        pgTask.cancel()
        await pgTask.value

        // End to end: node processes enqueue documents of 10 and lease+ack batches of 50 at once.
        func nodes(_ urls: [String]) async throws -> Double {
            let share = endToEnd / urls.count
            return try await seconds {
                let processes = try urls.enumerated().map { index, nodeURL in
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
                    process.arguments = ["e2e", "--url", nodeURL, "--from", String(index * share),
                                         "--to", String(index == urls.count - 1 ? endToEnd : (index + 1) * share),
                                         "--total", String(endToEnd)]
                    process.standardOutput = FileHandle.nullDevice
                    try process.run()
                    return process
                }
                for process in processes {
                    while process.isRunning { try await Task.sleep(nanoseconds: 10_000_000) }
                    guard process.terminationStatus == 0 else { throw QueueError(.storage, "an e2e node failed") }
                }
            }
        }
        let sqliteE2E = try await nodes(["sqlite:" + directory + "/e2e.sqlite"])
        Output.shared.line("sqlite      end-to-end 1 node   10/50  \(String(endToEnd).padding(toLength: 9, withPad: " ", startingAt: 0))\(rate(endToEnd, sqliteE2E))")
        let oneURL = scratchURL()
        let one = try await nodes([oneURL])
        Output.shared.line("postgres    end-to-end 1 node   10/50  \(String(endToEnd).padding(toLength: 9, withPad: " ", startingAt: 0))\(rate(endToEnd, one))")
        let twoURL = scratchURL()
        let two = try await nodes([twoURL, twoURL])
        Output.shared.line("postgres    end-to-end 2 nodes  10/50  \(String(endToEnd).padding(toLength: 9, withPad: " ", startingAt: 0))\(rate(endToEnd, two))")
        Output.shared.line(String(format: "two nodes vs one: %+.0f%%; postgres vs sqlite end to end: %.0f%%",
                        (one / two - 1) * 100, sqliteE2E / one * 100))
    } catch {
        Output.shared.line("bench failed: \(error)")
    }
    for scratch in scratchURLs {
        let queue = postgres(scratch)
        let task = Task { await queue.run() }
        try? await queue.dropSchema()
        task.cancel()
        await task.value
    }

default:
    fail("unknown command \(command)")
}

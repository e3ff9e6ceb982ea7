import Foundation
import GatewayQueue
import GatewayQueueSQLite
import TestSupport
import Testing

/// The crash test: a child process (`xgw-queue-crash-helper`) enqueues, leases, acks and nacks
/// under load on one SQLite file and is killed with SIGKILL at a random moment, 20 times; then
/// every enqueue it reported as done is in the file exactly once and no acked message comes back.
@Suite("SQLite queue survives kill -9")
struct CrashTests {
    struct Enqueued {
        var envelopeId: String
        var recordId: String
        var digest: String
        var destinations: [String]
    }

    /// The helper executable, built beside the test bundle (the test target depends on it).
    static func helperURL() throws -> URL { try TestBinary.url("xgw-queue-crash-helper") }

    /// Runs the helper until it has printed `ready` and then `delay` more seconds, kills it with
    /// SIGKILL, and returns its complete output lines.
    static func runAndKill(helper: URL, database: String, run: Int, delay: TimeInterval, output: URL) throws -> [Substring] {
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = helper
        process.arguments = [database, String(run)]
        process.standardOutput = handle
        try process.run()
        // Generous: a full parallel test run on two cores may start the helper slowly.
        let deadline = Date() + 120
        while Date() < deadline {
            if let text = try? String(contentsOf: output, encoding: .utf8), text.hasPrefix("ready\n") { break }
            if !process.isRunning { break }
            usleep(5_000)
        }
        usleep(UInt32(delay * 1e6))
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let text = try String(contentsOf: output, encoding: .utf8)
        if !wasRunning {
            throw QueueError(.storage, "the helper exited by itself (status \(process.terminationStatus)) in run \(run)")
        }
        // Only complete lines: the kill may cut the last one.
        return text.split(separator: "\n", omittingEmptySubsequences: true).dropLast(text.hasSuffix("\n") ? 0 : 1).map { $0 }
    }

    @Test func acknowledgedWorkSurvivesKill9() async throws {
        let helper = try Self.helperURL()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.path("queue.sqlite")
        var enqueued: [String: Enqueued] = [:]
        var duplicatesReported: [String] = []
        var acked: [Int64: String] = [:]
        var doubleAcks: [Int64] = []
        var linesPerRun: [Int] = []
        let started = Date()
        for run in 0..<20 {
            let lines = try Self.runAndKill(
                helper: helper, database: database, run: run, delay: Double.random(in: 0.05...0.6),
                output: directory.url.appendingPathComponent("run\(run).out"))
            linesPerRun.append(lines.count)
            for line in lines {
                let fields = line.split(separator: " ").map(String.init)
                switch fields.first {
                case "E":
                    enqueued[fields[1]] = Enqueued(
                        envelopeId: fields[1], recordId: fields[2], digest: fields[3],
                        destinations: fields[4].split(separator: ",").map(String.init))
                case "D": duplicatesReported.append(fields[1])
                case "A":
                    let id = Int64(fields[1])!
                    if acked[id] != nil { doubleAcks.append(id) }
                    acked[id] = fields[2]
                default: break
                }
            }
        }
        // How long the 20 runs took is printed below, not asserted: on a loaded machine it says nothing.
        let elapsed = Date().timeIntervalSince(started)
        #expect(enqueued.count > 200 && acked.count > 100, "the helper was under load: \(enqueued.count) enqueued, \(acked.count) acked, lines per run \(linesPerRun)")
        #expect(doubleAcks.isEmpty, "messages acked twice: \(doubleAcks.prefix(5))")
        #expect(duplicatesReported.allSatisfy { enqueued[$0] != nil }, "duplicates name a reported envelope")

        // Reopen as the next process would, a day later: every lease has expired.
        let clock = ManualQueueClock(Date() + 86_400)
        let queue = try SQLiteMessageQueue(path: database, configuration: QueueConfiguration(clock: clock))
        #expect(try await queue.integrityCheck() == "ok")

        // Every reported enqueue is there, once per destination, and its key is stored once.
        for item in enqueued.values {
            let queuedEvents = try await queue.history(envelopeId: item.envelopeId).filter { $0.event == .queued }
            #expect(queuedEvents.map(\.destination).sorted() == item.destinations.sorted(), "envelope \(item.envelopeId)")
        }
        let resubmitted = enqueued.values.map { item in
            EnqueueItem(
                envelopeId: "check-\(item.envelopeId)", kind: "traffic-violation", recordId: item.recordId, updatedAt: "x",
                payloadDigest: item.digest, destinations: ["elsewhere"], envelope: [])
        }
        let again = try await queue.enqueue(submitter: "renshi-office", items: resubmitted)
        #expect(zip(resubmitted, again).allSatisfy { $0.envelopeId == "check-" + $1.envelopeId && $1.duplicate },
            "every reported enqueue is stored once under its key")

        // Every acked message stays acked, with its receipt.
        for (messageId, envelopeId) in acked {
            let receipts = try await queue.receipts(envelopeId: envelopeId)
            #expect(receipts.contains { $0.messageId.rawValue == messageId && $0.receipt == Array("r".utf8) }, "message \(messageId)")
        }

        // Drain: nothing that was acked is delivered again.
        var redelivered: [Int64] = []
        var drained = 0
        for participant in ["renshi", "xinsheng"] {
            while true {
                let leased = try await queue.lease(participant: participant, max: 500, visibility: 60)
                if leased.isEmpty { break }
                drained += leased.count
                redelivered += leased.map(\.messageId.rawValue).filter { acked[$0] != nil }
                _ = try await queue.ack(participant: participant, leased.map { Acknowledgement(leaseToken: $0.leaseToken) })
            }
        }
        #expect(redelivered.isEmpty, "acked messages delivered again: \(redelivered.prefix(5))")
        let depths = try await queue.depths()
        let total = depths.values.reduce(0) { $0 + $1.queued + $1.leased + $1.acked + $1.dead }
        let reported = enqueued.values.reduce(0) { $0 + $1.destinations.count }
        #expect(depths.values.allSatisfy { $0.queued == 0 && $0.leased == 0 }, "drained: \(depths)")
        // Enqueues that committed just before a kill, unreported, may be there too: at most one
        // document (≤ 61 items × 2 destinations) per run.
        #expect(total >= reported && total <= reported + 20 * 122, "stored \(total) messages for \(reported) reported")
        print("crash test: 20 kills in \(String(format: "%.1f", elapsed)) s, \(enqueued.count) envelopes and \(acked.count) acks reported, \(total) messages stored, \(drained) drained")
    }
}

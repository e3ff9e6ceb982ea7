import Foundation
import GatewayQueue
import GatewayQueuePostgres
import Testing

/// Two queue nodes (`xgw-queue-pg-node` processes: submissions and lessees on both) on one
/// database. One is killed with SIGKILL mid-load and restarted; then the server is restarted
/// (`pg_ctl restart -m fast`, `XGW_PG_CTL` from `.ci/postgres.sh`) mid-load. Afterwards every
/// accepted record is stored once and delivered (acked) exactly once per destination, no lease
/// was granted while another one of the same message was valid, and the nodes reported not-ready
/// while the server was down and ready again after.
/// Helpers of the multi-node test (in the serialized `PostgresQueueTests` suite, because it
/// restarts the server the other tests use).
enum MultiNode {
    static let records = 1200
    static let destinations = ["pa", "pb"]

    final class Node {
        let name: String
        let range: Range<Int>
        let url: String
        var process: Process?
        var outputs: [URL] = []
        let directory: URL

        init(name: String, range: Range<Int>, url: String, directory: URL) {
            self.name = name
            self.range = range
            self.url = url
            self.directory = directory
        }

        func start() throws {
            let output = directory.appendingPathComponent("\(name)-\(outputs.count).log")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            outputs.append(output)
            let process = Process()
            process.executableURL = try MultiNode.helperURL()
            process.arguments = [
                "node", "--url", url, "--from", String(range.lowerBound), "--to", String(range.upperBound),
                "--destinations", MultiNode.destinations.joined(separator: ","), "--visibility", "2", "--batch", "10",
            ]
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = FileHandle.standardError
            try process.run()
            self.process = process
        }

        func kill() {
            guard let process, process.isRunning else { return }
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// Complete lines of every run's output.
        func lines() -> [Substring] {
            outputs.flatMap { url -> [Substring] in
                let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
                var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
                if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }  // cut by SIGKILL
                return lines
            }
        }

        /// Lines of the current run only.
        func currentLines() -> [Substring] {
            guard let url = outputs.last else { return [] }
            return ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n")
        }
    }

    static func helperURL() throws -> URL {
        let name = "xgw-queue-pg-node"
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]), Bundle.main.bundleURL]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.insert(URL(fileURLWithPath: exe), at: 0)
        }
        for start in starts {
            var directory = start.deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw QueueError(.notFound, "\(name) not found beside the test bundle")
    }

    static func waitUntil(_ seconds: TimeInterval, _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date() + seconds
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw QueueError(.storage, "timed out after \(seconds) s waiting for \(what)")
    }

    static func pgCtl(_ arguments: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", (ProcessInfo.processInfo.environment["XGW_PG_CTL"] ?? "false") + " " + arguments + " >/dev/null"]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw QueueError(.storage, "pg_ctl \(arguments) failed") }
    }

}

extension PostgresQueueTests {
    // Opt-in for now: after `pg_ctl restart -m fast` a node's PostgresClient pool sometimes stops
    // handing out connections (calls wait forever), which would hang CI; see docs/postgres.md.
    @Test(
        .enabled(if: ProcessInfo.processInfo.environment["XGW_PG_CTL"] != nil, "XGW_PG_CTL is not set: cannot restart the server (.ci/postgres.sh sets it)"),
        .enabled(if: ProcessInfo.processInfo.environment["XGW_PG_MULTINODE"] == "1", "opt-in (XGW_PG_MULTINODE=1) until the pool stall after a server restart is fixed"),
        .timeLimit(.minutes(3)))
    func twoNodesSurviveAKilledNodeAndADatabaseRestart() async throws {
        typealias Node = MultiNode.Node
        let scratch = try await ScratchQueue.make()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-multinode-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try #require(postgresURL) + "?schema=\(scratch.queue.settings.schema)&pool=4"
        let half = MultiNode.records / 2
        let a = Node(name: "a", range: 0..<half, url: url, directory: directory)
        let b = Node(name: "b", range: half..<MultiNode.records, url: url, directory: directory)
        defer {
            a.kill()
            b.kill()
        }
        try a.start()
        try b.start()
        func acked(_ node: Node) -> Int { node.lines().filter { $0.hasPrefix("ack ") }.count }
        func enqueued(_ node: Node) -> Int { node.currentLines().filter { $0.hasPrefix("enq ") }.count }

        // 1. Kill node a with SIGKILL mid-load (it has enqueued and delivered some, not all), restart it.
        try await MultiNode.waitUntil(60, "node a under load") { enqueued(a) >= half / 4 && acked(a) >= 20 }
        #expect(enqueued(a) < half, "node a was killed before finishing its submissions")
        a.kill()
        try a.start()

        // 2. Restart the database mid-load: both nodes report not-ready, then ready again.
        try await MultiNode.waitUntil(60, "node a back under load") { a.currentLines().contains("ready") && acked(a) + acked(b) >= 200 }
        let beforeRestart = (a.currentLines().count, b.lines().count)
        try MultiNode.pgCtl("restart -m fast")
        try await MultiNode.waitUntil(60, "both nodes ready again after the restart") {
            let aLines = a.currentLines().dropFirst(beforeRestart.0)
            let bLines = b.lines().dropFirst(beforeRestart.1)
            return aLines.contains("notready") && bLines.contains("notready")
                && aLines.drop { $0 != "notready" }.contains("ready") && bLines.drop { $0 != "notready" }.contains("ready")
        }

        // 3. Everything submitted and delivered.
        try await MultiNode.waitUntil(120, "every message delivered") {
            guard a.currentLines().contains("produced"), b.lines().contains("produced"),
                let depths = try? await scratch.queue.depths()
            else { return false }
            return MultiNode.destinations.allSatisfy { depths[$0] == QueueDepth(acked: MultiNode.records) }
        }
        a.kill()
        b.kill()

        // Every accepted record is stored once: one envelope per record (dedupe across the kill).
        var accepted: [String: Set<String>] = [:]
        var leases: [String: [(expires: Int64, visibility: Int64, token: String)]] = [:]
        var ackedMessages: [String: Int] = [:]
        for line in a.lines() + b.lines() {
            let fields = line.split(separator: " ").map(String.init)
            switch fields.first {
            case "enq": accepted[fields[1], default: []].insert(fields[2])
            case "lease": leases[fields[2], default: []].append((Int64(fields[5]) ?? 0, Int64(fields[6]) ?? 0, fields[4]))
            case "ack": ackedMessages[fields[2], default: 0] += 1
            default: break
            }
        }
        #expect(accepted.count == MultiNode.records, "every record was accepted")
        #expect(accepted.values.allSatisfy { $0.count == 1 }, "a resubmitted record maps to its first envelope")
        // Exactly once per destination, checked in the database (an ack whose line was cut by the kill counts).
        let depths = try await scratch.queue.depths()
        #expect(depths.keys.sorted() == MultiNode.destinations)
        for destination in MultiNode.destinations {
            #expect(depths[destination] == QueueDepth(acked: MultiNode.records))
        }
        for (record, envelopes) in accepted {
            let envelope = try #require(envelopes.first)
            let receipts = try await scratch.queue.receipts(envelopeId: envelope)
            #expect(receipts.map(\.destination).sorted() == MultiNode.destinations, "record \(record)")
            if receipts.count != MultiNode.destinations.count { break }
        }
        #expect(ackedMessages.values.allSatisfy { $0 == 1 }, "no message was acked twice")
        // No lease granted while another one of the same message was still valid.
        var overlaps = 0
        for (_, granted) in leases {
            let sorted = granted.sorted { $0.expires < $1.expires }
            for (earlier, later) in zip(sorted, sorted.dropFirst()) where later.expires - later.visibility < earlier.expires {
                overlaps += 1
            }
        }
        #expect(overlaps == 0, "leases overlapping a still-valid lease of the same message")
        let redelivered = leases.values.filter { $0.count > 1 }.count
        #expect(leases.count >= MultiNode.records, "lease lines for the messages (\(leases.count)); \(redelivered) re-leased after the kill or restart")
        await scratch.stop()
    }
}

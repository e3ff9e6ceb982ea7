import Foundation
import GatewayModel
import GatewayQueue
import GatewayQueuePostgres
import GatewayServer
import GatewaySigning
import TestSupport
import Testing

/// Issue 16 item 2: the retention purge archives what it deletes (signed envelopes, receipts,
/// history) first, to `<data>/archive` with a SHA-256 manifest, through the API `xgw serve` builds
/// (in process, `APIGateway`: a real SQLite file or a real PostgreSQL schema, real keys).
@Suite struct RetentionArchiveTests {
    static let postgresURL = ProcessInfo.processInfo.environment["XGW_TEST_POSTGRES_URL"]
    struct Crash: Error {}

    /// renshi sends xinsheng three traffic records; xinsheng acks two accepted and one rejected.
    /// Returns the leased messages.
    static func settledBatch(_ client: APIClient, tokens: [String: String]) async throws -> [JSONValue] {
        let renshi = try #require(tokens["renshi"]), xinsheng = try #require(tokens["xinsheng"])
        let messages = try await AckIdempotenceTests.leasedBatch(client, renshi: renshi, xinsheng: xinsheng)
        try #require(messages.count == 3)
        for (index, message) in messages.enumerated() {
            let acked = try await AckIdempotenceTests.ack(
                client, message, token: xinsheng, outcome: index == 2 ? "rejected" : "accepted", reason: index == 2 ? "bad-signature" : nil)
            #expect(acked.status == 200, "\(acked.text)")
        }
        return messages
    }

    /// Purges what `settledBatch` settled, with a crash between the archive and the deletion
    /// first, and checks the queue and the archive after.
    static func purgeAndCheck(_ client: APIClient, _ gateway: Gateway, data: URL) async throws {
        let tokens = gateway.tokensByName
        let messages = try await settledBatch(client, tokens: tokens)
        let ids = messages.compactMap { $0["envelopeId"]?.stringValue }
        // A later document stays queued (never leased): the purge leaves it.
        let queued = try await client.call("POST", "/v1/documents", token: tokens["renshi"], body: try fixture("sc-traffic-xml/001-formats-example-gbk.xml"))
        #expect(queued.status == 200, "\(queued.text)")
        let queuedId = try #require(queued.json?["records"]?.arrayValue?.first?["envelopeId"]?.stringValue)

        let folder = gateway.configuration.archivePath
        let later = Date().addingTimeInterval(31 * 86_400)
        // The archive commits, then the process "dies" before the queue deletes: everything stays.
        let archive = RetentionArchive(folder: folder)
        await #expect(throws: Crash.self) {
            try await gateway.queue.purgeAcked(before: later.addingTimeInterval(-30 * 86_400), limit: 500) { batch in
                try archive.write(batch)
                throw Crash()
            }
        }
        for id in ids { #expect(try await gateway.queue.storedEnvelope(id: id) != nil) }
        // An interrupted append past the committed length (a crash while writing the next batch).
        let day = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".ndjson.gz") })
        let handle = try #require(FileHandle(forWritingAtPath: folder + "/" + day))
        handle.seekToEndOfFile()
        handle.write(Data([0x1f, 0x8b, 0x08, 0x00, 0x42]))
        try handle.close()
        #expect(RetentionArchive.verify(folder: folder).notes.contains { $0.contains("past the committed length") })

        // The hourly job: archive (the repeat skipped, the torn tail cut off), then delete.
        let purged = try await gateway.purgeExpired(at: later)
        #expect(purged == 3)
        for id in ids {
            #expect(try await gateway.queue.storedEnvelope(id: id) == nil)
            #expect(try await gateway.queue.history(envelopeId: id).isEmpty)
        }
        #expect(try await gateway.queue.storedEnvelope(id: queuedId) != nil, "a queued message is never purged")
        #expect(try await gateway.queue.receipts(submitter: "renshi").isEmpty)

        let result = RetentionArchive.verify(folder: folder)
        #expect(result.ok, "\(result.problems)")
        #expect(result.notes.isEmpty, "\(result.notes)")
        #expect(result.files == 1 && result.records == 3 && result.messages == 3, "archived once each: \(result)")
        #expect(result.envelopes == 3 && result.receipts == 3)

        // Each line holds the signed envelope and receipt, which still verify with the alliance's trust.
        let trust = try TrustStore(rootsFile: data.path + "/pki/ca.cert.pem")
        let lines = try RetentionArchive.lines(of: folder + "/" + day)
        #expect(Set(lines.compactMap { $0["envelopeId"]?.stringValue }) == Set(ids))
        for line in lines {
            let envelope = try Envelope(json: try JSONParser.parse(try #require(RetentionArchive.storedBytes(line, "envelope"))))
            #expect(envelope.id == line["envelopeId"]?.stringValue)
            #expect((try? envelope.verify(trust: trust).get()) != nil, "the archived envelope verifies")
            let receipt = try Receipt(json: try JSONParser.parse(try #require(RetentionArchive.storedBytes(line, "receipt"))))
            #expect((try? receipt.verify(trust: trust).get()) != nil, "the archived receipt verifies")
            #expect(receipt.envelopeId == envelope.id)
            #expect(line["destination"] == "xinsheng" && line["submitter"] == "renshi")
            let events = line["history"]?.arrayValue?.compactMap { $0["event"]?.stringValue } ?? []
            #expect(events == ["queued", "leased", "acked"], "\(events)")
            if line["outcome"] == "rejected" { #expect(line["reason"] == "bad-signature") }
        }
        #expect(lines.filter { $0["outcome"] == "rejected" }.count == 1)

        // `xgw archive verify` agrees; an altered committed byte fails it, and stops the purge.
        let ok = try TestBinary.run("xgw", ["archive", "verify", folder])
        #expect(ok.status == 0, "\(ok.output)\(ok.error)")
        #expect(ok.output.hasPrefix("ok files 1 lines 3 messages 3 envelopes 3 receipts 3"), "\(ok.output)")
        let path = folder + "/" + day
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let altered = try TestBinary.run("xgw", ["archive", "verify", folder])
        #expect(altered.status == 1)
        #expect(altered.error.contains("SHA-256 does not match the manifest"), "\(altered.error)")
        let leased = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["max": 10])
        let last = try #require(leased.json?["messages"]?.arrayValue?.first { $0["envelopeId"]?.stringValue == queuedId })
        #expect(try await AckIdempotenceTests.ack(client, last, token: tokens["xinsheng"], outcome: "accepted").status == 200)
        await #expect(throws: RetentionArchive.Failure.self) { try await gateway.purgeExpired(at: later) }
        #expect(try await gateway.queue.storedEnvelope(id: queuedId) != nil, "nothing deleted while the archive is refused")
    }

    @Test func thePurgeArchivesEnvelopesReceiptsAndHistoryBeforeDeletingOnSQLite() async throws {
        let api = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"])
        defer { api.remove() }
        try await api.run { client, gateway in try await Self.purgeAndCheck(client, gateway, data: api.data) }
    }

    /// Not while the multi-node test stops the database server (PostgresServerGate).
    @Test(.enabled(if: postgresURL != nil, "XGW_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL)"))
    func thePurgeArchivesOnPostgreSQLAndOneNodePurgesAtATime() async throws {
        try await PostgresServerGate.shared { try await Self.thePurgeArchivesOnPostgreSQLAndOneNodePurgesAtATime() }
    }

    static func thePurgeArchivesOnPostgreSQLAndOneNodePurgesAtATime() async throws {
        let schema = "xgw_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let database = try #require(Self.postgresURL) + "?schema=\(schema)&pool=4&timeout=10"
        let api = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256", "XGW_DATABASE": database])
        defer { api.remove() }
        try await api.run { client, gateway in
            let postgres = try #require(gateway.queue as? PostgresMessageQueue)
            defer { Task { try? await postgres.dropSchema() } }
            for _ in 0..<200 where (try? await gateway.queue.ping()) == nil { try await Task.sleep(for: .milliseconds(100)) }
            try await gateway.queue.ping()
            try await Self.purgeAndCheck(client, gateway, data: api.data)

            // While one purge holds its batch (archiving), a purge from another node does nothing.
            let other = PostgresMessageQueue(settings: postgres.settings)
            let pool = Task { await other.run() }
            defer { pool.cancel() }
            let holding = AsyncStream<Void>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            let first = Task {
                try await gateway.queue.purgeAcked(before: Date().addingTimeInterval(86_400), limit: 10) { _ in
                    holding.continuation.yield()
                    for await _ in release.stream { break }
                }
            }
            for await _ in holding.stream { break }
            let second = try await other.purgeAcked(before: Date().addingTimeInterval(86_400), limit: 10) { _ in
                Issue.record("a second purger was handed a batch")
            }
            #expect(second == nil, "another node purges: this one waits its turn")
            release.continuation.yield()
            #expect(try await first.value == 1, "the message acked last")
        }
    }
}

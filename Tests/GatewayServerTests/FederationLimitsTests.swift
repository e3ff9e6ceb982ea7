import Foundation
import GatewayModel
import Testing
import TestSupport

/// The node-to-node API's body limit at its edge (federation.md, "Requests and errors": at most
/// 16 MiB, else 413 `too-large`, nothing stored), with curl and xinsheng-node's client
/// certificate; and the outbox gauges, refreshed when `/metrics` is scraped.
@Suite(.serialized) struct FederationLimitsTests {
    /// `{"envelopes":[<envelope>]}` padded with JSON whitespace to exactly `size` bytes, in a file
    /// (curl posts it with `--data-binary @file`: 16 MiB do not fit on a command line).
    static func body(_ envelope: [UInt8], size: Int, in folder: URL, name: String) throws -> String {
        var bytes = Array("{\"envelopes\":[".utf8) + envelope + Array("]".utf8)
        let padding = size - bytes.count - 1
        precondition(padding >= 0)
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: padding) + Array("}".utf8)
        let path = folder.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aBodyOfExactly16MiBIsReadAndOneByteMoreIsTooLarge() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start(FederationRefusalTests.receiver)
        let limit = 16 << 20
        let first = try FederationRefusalTests.envelope(nodes, from: "xinsheng", to: ["renshi"])
        let second = try FederationRefusalTests.envelope(nodes, from: "xinsheng", to: ["renshi"])

        // One byte more than 16 MiB: 413 too-large, and nothing of it is stored.
        let over = try Self.body(second.canonicalBytes(), size: limit + 1, in: nodes.alliance.folder, name: "over.json")
        #expect(try Data(contentsOf: URL(fileURLWithPath: over)).count == limit + 1)
        let refused = try FederationRefusalTests.post(nodes, "/v1/federation/envelopes", "@" + over)
        #expect(refused.status == 413 && FederationRefusalTests.errorCode(refused) == "too-large", "\(refused.body.prefix(500))")

        // Exactly 16 MiB: read, and its envelope accepted.
        let exact = try Self.body(first.canonicalBytes(), size: limit, in: nodes.alliance.folder, name: "exact.json")
        #expect(try Data(contentsOf: URL(fileURLWithPath: exact)).count == limit)
        let answer = try FederationRefusalTests.post(nodes, "/v1/federation/envelopes", "@" + exact)
        #expect(answer.status == 200, "\(answer.body.prefix(500))")
        let results = (try? JSONParser.parse(Array(answer.body.utf8)))?["results"]?.arrayValue ?? []
        #expect(results.map { $0["status"]?.stringValue } == ["accepted"], "\(answer.body.prefix(500))")

        // renshi's inbox holds the accepted envelope and not the refused one.
        let messages = try await nodes.leaseAll(FederationRefusalTests.receiver, "renshi", seconds: 5) { $0.count >= 1 }
        #expect(messages.compactMap { $0["envelopeId"]?.stringValue } == [first.id], "\(messages.map { $0["envelopeId"] })")
    }

    /// `xgw_federation_outbox_depth{peer}` and `_outbox_oldest_seconds{peer}` are refreshed when
    /// `/metrics` is scraped, without anyone reading `GET /v1/ops/peers`.
    @Test func theOutboxGaugesAreRefreshedWhenMetricsAreScraped() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("renshi-node")
        // xinsheng-node is down: what renshi submits waits in its outbox.
        let metrics = { try await nodes.client("renshi-node").call("GET", "/metrics").text }
        let depthSeries = #"xgw_federation_outbox_depth{peer="xinsheng-node"}"#
        let oldestSeries = #"xgw_federation_outbox_oldest_seconds{peer="xinsheng-node"}"#
        let empty = try await metrics()
        #expect(MetricsExpositionTests.value(empty, depthSeries) == 0, "\(empty)")
        #expect(MetricsExpositionTests.value(empty, oldestSeries) == 0, "\(empty)")

        let accepted = try await nodes.submitFixture()
        // Polled until the gauges show the queued messages (a fixed 1.2 s was a guess at their refresh under load).
        var text = try await metrics()
        let deadline = Date().addingTimeInterval(90)
        while MetricsExpositionTests.value(text, depthSeries) != Double(accepted) || (MetricsExpositionTests.value(text, oldestSeries) ?? 0) <= 0,
            Date() < deadline
        {
            try await Task.sleep(for: .milliseconds(200))
            text = try await metrics()
        }
        #expect(MetricsExpositionTests.value(text, depthSeries) == Double(accepted), "\(text)")
        let oldest = try #require(MetricsExpositionTests.value(text, oldestSeries), "\(text)")
        #expect(oldest > 0, "\(text)")
    }
}

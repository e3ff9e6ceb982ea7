import Foundation
import GatewayModel
import GatewayServer
import GatewaySigning
import TestSupport
import Testing

/// Issue 16, items 4 and 6, through the API `xgw serve` builds (in process, `APIGateway`, a real
/// SQLite file and real keys): a repeated ack answers the first ack's receipt; a participant reads
/// its inbox counts without leasing, and every caller fetches the alliance root and CRL.
@Suite struct AckIdempotenceTests {
    /// renshi sends xinsheng a batch of three traffic records; xinsheng leases them all.
    static func leasedBatch(_ client: APIClient, renshi: String, xinsheng: String) async throws -> [JSONValue] {
        let submitted = try await client.call("POST", "/v1/documents", token: renshi, body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
        #expect(submitted.status == 200, "\(submitted.text)")
        let leased = try await client.call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 10])
        let messages = leased.json?["messages"]?.arrayValue ?? []
        #expect(messages.count == 3, "\(leased.text)")
        return messages
    }

    /// A fresh gateway (ES256) on its own data folder, removed after `test`, with its first start's tokens.
    static func withGateway(_ test: @Sendable (APIClient, _ tokens: [String: String], _ data: URL) async throws -> Void) async throws {
        let gateway = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"])
        defer { gateway.remove() }
        try await gateway.run { client, server in try await test(client, server.tokensByName, gateway.data) }
    }

    static func ack(_ client: APIClient, _ message: JSONValue, token: String?, outcome: String, reason: String? = nil) async throws -> HTTPAnswer {
        var body = JSONObject(["leaseToken": message["leaseToken"] ?? .null, "outcome": .string(outcome)])
        if let reason { body["reason"] = .string(reason) }
        return try await client.call("POST", "/v1/inbox/\(message["envelopeId"]?.stringValue ?? "")/ack", token: token, json: .object(body))
    }

    @Test func aRepeatedAckAnswersTheSameReceiptAndAnotherOutcomeIsRefused() async throws {
        try await Self.withGateway { client, tokens, data in
            let renshi = try #require(tokens["renshi"]), xinsheng = try #require(tokens["xinsheng"])
            let messages = try await Self.leasedBatch(client, renshi: renshi, xinsheng: xinsheng)
            try #require(messages.count == 3)
            let trust = try TrustStore(rootsFile: data.path + "/pki/ca.cert.pem")

            // Accepted, then the same ack again (its answer lost): the same receipt, byte for byte.
            let first = try await Self.ack(client, messages[0], token: xinsheng, outcome: "accepted")
            #expect(first.status == 200, "\(first.text)")
            let again = try await Self.ack(client, messages[0], token: xinsheng, outcome: "accepted")
            #expect(again.status == 200, "a repeated ack: \(again.text)")
            #expect(again.text == first.text)
            let receipt = try Receipt(json: try #require(again.json?["receipt"]))
            #expect(try receipt.verify(trust: trust).get().officeIDs.contains("xinsheng"))
            #expect(receipt.outcome == .accepted)

            // Another outcome for the acked message: 409, and the stored receipt is unchanged.
            let changed = try await Self.ack(client, messages[0], token: xinsheng, outcome: "rejected", reason: "bad-signature")
            #expect(changed.status == 409, "\(changed.text)")
            #expect(changed.json?["error"]?["code"] == "unknown-lease")

            // Rejected, repeated: the same rejected receipt; accepted after it: 409.
            let rejected = try await Self.ack(client, messages[1], token: xinsheng, outcome: "rejected", reason: "bad-signature")
            #expect(rejected.status == 200, "\(rejected.text)")
            let rejectedAgain = try await Self.ack(client, messages[1], token: xinsheng, outcome: "rejected", reason: "bad-signature")
            #expect(rejectedAgain.status == 200, "\(rejectedAgain.text)")
            #expect(rejectedAgain.text == rejected.text)
            let otherReason = try await Self.ack(client, messages[1], token: xinsheng, outcome: "rejected", reason: "digest-mismatch")
            #expect(otherReason.status == 409, "\(otherReason.text)")
            let acceptedAfter = try await Self.ack(client, messages[1], token: xinsheng, outcome: "accepted")
            #expect(acceptedAfter.status == 409, "\(acceptedAfter.text)")

            // Another participant repeating xinsheng's ack learns nothing: 409, no receipt.
            let foreign = try await Self.ack(client, messages[0], token: tokens["liangping"], outcome: "accepted")
            #expect(foreign.status == 409, "\(foreign.text)")
            #expect(foreign.json?["receipt"] == nil)

            // A message never acked still needs its lease: a made-up token is 409.
            let forged: JSONValue = ["envelopeId": messages[2]["envelopeId"] ?? .null, "leaseToken": "not-a-lease-token"]
            let unknown = try await Self.ack(client, forged, token: xinsheng, outcome: "accepted")
            #expect(unknown.status == 409, "\(unknown.text)")

            // renshi holds exactly one receipt per acked message (the repeats stored nothing).
            let receipts = try await client.call("GET", "/v1/receipts", token: renshi)
            #expect(receipts.json?["receipts"]?.arrayValue?.count == 2, "\(receipts.text)")
        }
    }

    /// An answer body as the server writes it (canonical JSON: members in key order).
    static func canonical(_ value: JSONValue) -> [UInt8] { value.canonicalBytes() }

    @Test func aParticipantReadsItsInboxCountsWithoutLeasing() async throws {
        try await Self.withGateway { client, tokens, data in
            let renshi = try #require(tokens["renshi"]), xinsheng = try #require(tokens["xinsheng"])
            let submitted = try await client.call("POST", "/v1/documents", token: renshi, body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
            #expect(submitted.status == 200, "\(submitted.text)")

            let before = try await client.call("GET", "/v1/inbox", token: xinsheng)
            #expect(before.status == 200, "\(before.text)")
            #expect(before.body == Self.canonical(["participant": "xinsheng", "queued": 3, "leased": 0, "dead": 0, "acked": 0]))
            // Looking leased nothing: reading twice gives the same counts.
            let twice = try await client.call("GET", "/v1/inbox", token: xinsheng)
            #expect(twice.json == before.json)

            let leased = try await client.call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 1])
            let message = try #require(leased.json?["messages"]?.arrayValue?.first)
            _ = try await Self.ack(client, message, token: xinsheng, outcome: "accepted")
            let leased2 = try await client.call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 1])
            #expect(leased2.json?["messages"]?.arrayValue?.count == 1)
            let after = try await client.call("GET", "/v1/inbox", token: xinsheng)
            #expect(after.body == Self.canonical(["participant": "xinsheng", "queued": 1, "leased": 1, "dead": 0, "acked": 1]), "\(after.text)")

            // Each sees its own inbox only; ops has no inbox; no token, no answer.
            let own = try await client.call("GET", "/v1/inbox", token: renshi)
            #expect(own.body == Self.canonical(["participant": "renshi", "queued": 0, "leased": 0, "dead": 0, "acked": 0]), "\(own.text)")
            #expect(try await client.call("GET", "/v1/inbox", token: tokens["ops"]).status == 403)
            #expect(try await client.call("GET", "/v1/inbox").status == 401)
        }
    }

    @Test func everyCallerFetchesTheAllianceRootAndCRL() async throws {
        try await Self.withGateway { client, tokens, data in
            let pki = PKIDirectory(path: data.path + "/pki")
            let root = try FileBytes.read(pki.caCertificatePath)
            let crl = try FileBytes.read(pki.crlPath)
            for name in ["xinsheng", "liangping", "ops"] {
                let rootAnswer = try await client.call("GET", "/v1/pki/root", token: tokens[name])
                #expect(rootAnswer.status == 200, "\(name): \(rootAnswer.text)")
                #expect(rootAnswer.header("Content-Type") == "application/x-pem-file")
                #expect(rootAnswer.body == root, "\(name)")
                let crlAnswer = try await client.call("GET", "/v1/pki/crl", token: tokens[name])
                #expect(crlAnswer.status == 200, "\(name): \(crlAnswer.text)")
                #expect(crlAnswer.body == crl, "\(name)")
            }
            // What was fetched is a certificate and a CRL that verify envelopes (OpenSSL reads them).
            let fetchedRoot = try await client.call("GET", "/v1/pki/root", token: tokens["xinsheng"])
            #expect(try Certificate(pem: fetchedRoot.body).serial.isEmpty == false)
            let fetchedCRL = try await client.call("GET", "/v1/pki/crl", token: tokens["xinsheng"])
            _ = try CertificateRevocationList(pem: fetchedCRL.body)
            for path in ["/v1/pki/root", "/v1/pki/crl"] {
                #expect(try await client.call("GET", path).status == 401, "\(path)")
                #expect(try await client.call("GET", path, token: "not-a-token").status == 401, "\(path)")
            }
        }
    }
}

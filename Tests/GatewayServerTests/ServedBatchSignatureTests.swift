import Foundation
import GatewayModel
import GatewayServer
import GatewaySigning
import TestSupport
import Testing

/// Issue 18 item 1 on the server: `xgw serve` seals each submitted document's envelopes as one
/// batch signature (`signing.batch`, on by default) and issues the receipts of one ack request
/// settling several messages as one batch; each envelope and receipt still verifies alone, with
/// `Envelope.verify`, `xgw verify` and the openssl recipe of docs/security.md. Through the API
/// `xgw serve` builds (`APIGateway`: a real SQLite file, real SM2 keys).
@Suite struct ServedBatchSignatureTests {
    /// A fresh gateway (the default algorithm, SM2-SM3) with `yaml` as its configuration file.
    static func withGateway(
        yaml: String? = nil, _ test: @Sendable (APIClient, _ tokens: [String: String], _ data: URL) async throws -> Void
    ) async throws {
        let gateway = try APIGateway.temporary { data in
            guard let yaml else { return nil }
            let file = data.appendingPathComponent("xgw.yaml").path
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
        defer { gateway.remove() }
        try await gateway.run { client, server in try await test(client, server.tokensByName, gateway.data) }
    }

    /// renshi submits the three-record traffic document; xinsheng leases its three envelopes.
    static func submitAndLease(_ client: APIClient, _ tokens: [String: String]) async throws -> [JSONValue] {
        let submitted = try await client.call(
            "POST", "/v1/documents", token: tokens["renshi"], body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
        #expect(submitted.status == 200, "\(submitted.text)")
        #expect(submitted.json?["accepted"] == 3, "\(submitted.text)")
        let leased = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["max": 10])
        let messages = leased.json?["messages"]?.arrayValue ?? []
        #expect(messages.count == 3, "\(leased.text)")
        return messages
    }

    static func trust(_ data: URL) throws -> TrustStore { try TrustStore(rootsFile: data.path + "/pki/ca.cert.pem") }

    @Test func aServedDocumentIsSealedAsOneBatchAndEachEnvelopeVerifiesAlone() async throws {
        try await Self.withGateway { client, tokens, data in
            let messages = try await Self.submitAndLease(client, tokens)
            try #require(messages.count == 3)
            let trust = try Self.trust(data)
            let envelopes = try messages.map { try Envelope(json: try #require($0["envelope"])) }
            // One signature for the document: the same value, size 3, indexes 0, 1, 2.
            let proofs = try envelopes.map { try BatchProof(json: try #require($0.signature.batch, "no signature.batch")) }
            #expect(proofs.map(\.size) == [3, 3, 3])
            #expect(Set(proofs.map(\.index)) == [0, 1, 2])
            #expect(Set(envelopes.map(\.signature.value)).count == 1)
            #expect(envelopes.allSatisfy { $0.signature.alg == "SM2-SM3" })
            // Each verifies alone, with a fresh trust store (no cached statement) too.
            for envelope in envelopes {
                #expect(throws: Never.self) { try envelope.verify(trust: trust).get() }
                #expect(throws: Never.self) { try envelope.verify(trust: try Self.trust(data)).get() }
            }
            // Tampering with one envelope's header or its path fails it, and only it.
            var header = envelopes[1]
            header.header["recordId"] = "sc-traffic:tampered"
            #expect(Self.failure(header, data) == .badSignature)
            var path = envelopes[2]
            var proof = proofs[2]
            proof.path[0][0] ^= 1
            path.signature.batch = proof.json
            #expect(Self.failure(path, data) == .badSignature)
            #expect(throws: Never.self) { try envelopes[0].verify(trust: try Self.trust(data)).get() }

            // xgw verify: ok for each, fail for the tampered ones.
            let folder = data.appendingPathComponent("check")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let good = folder.appendingPathComponent("good.ndjson").path
            try FileBytes.write(Array(envelopes.map { String(decoding: $0.json.canonicalBytes(), as: UTF8.self) }.joined(separator: "\n").utf8), to: good)
            let bad = folder.appendingPathComponent("bad.ndjson").path
            try FileBytes.write(Array([header, path].map { String(decoding: $0.json.canonicalBytes(), as: UTF8.self) }.joined(separator: "\n").utf8), to: bad)
            let ca = data.path + "/pki/ca.cert.pem"
            let verified = try TestBinary.run("xgw", ["verify", "--trust", ca, good])
            #expect(verified.status == 0, "\(verified.output) \(verified.error)")
            #expect(verified.output.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count == 3, "\(verified.output)")
            let refused = try TestBinary.run("xgw", ["verify", "--trust", ca, bad])
            #expect(refused.status == 1, "\(refused.output) \(refused.error)")
            #expect(refused.output.split(separator: "\n").filter { $0.hasPrefix("fail ") && $0.hasSuffix(" bad-signature") }.count == 2, "\(refused.output)")

            // The openssl recipe of docs/security.md (examples/batch-signatures/verify.sh).
            let certificate = folder.appendingPathComponent("cert.pem").path
            let member = folder.appendingPathComponent("member.jcs").path
            try FileBytes.write(try envelopes[1].verify(trust: trust).get().pem(), to: certificate)
            for envelope in envelopes {
                try FileBytes.write(JSONValue.object(envelope.header).canonicalBytes(), to: member)
                let p = try BatchProof(json: try #require(envelope.signature.batch))
                let run = try TestBinary.runCommand(
                    "/bin/sh",
                    [TestBinary.repositoryRoot.appendingPathComponent("examples/batch-signatures/verify.sh").path, "SM2-SM3", member,
                     certificate, envelope.signature.value, String(p.size), String(p.index)] + p.path.map { Data($0).base64EncodedString() })
                #expect(run.status == 0 && run.output.contains("Signature Verified Successfully"), "\(run.output) \(run.error)")
            }
            try FileBytes.write(JSONValue.object(header.header).canonicalBytes(), to: member)
            let tampered = try TestBinary.runCommand(
                "/bin/sh",
                [TestBinary.repositoryRoot.appendingPathComponent("examples/batch-signatures/verify.sh").path, "SM2-SM3", member,
                 certificate, header.signature.value, String(proofs[1].size), String(proofs[1].index)]
                    + proofs[1].path.map { Data($0).base64EncodedString() })
            #expect(tampered.status != 0, "\(tampered.output)")
        }
    }

    static func failure(_ envelope: Envelope, _ data: URL) -> VerificationFailure.Code? {
        guard let trust = try? trust(data) else { return nil }
        if case .failure(let failure) = envelope.verify(trust: trust) { return failure.code }
        return nil
    }

    @Test func withBatchOffEachEnvelopeIsSignedAlone() async throws {
        try await Self.withGateway(yaml: "signing:\n  batch: false\n") { client, tokens, data in
            let messages = try await Self.submitAndLease(client, tokens)
            try #require(messages.count == 3)
            let envelopes = try messages.map { try Envelope(json: try #require($0["envelope"])) }
            #expect(envelopes.allSatisfy { $0.signature.batch == nil })
            #expect(Set(envelopes.map(\.signature.value)).count == 3)
            let trust = try Self.trust(data)
            for envelope in envelopes { #expect(throws: Never.self) { try envelope.verify(trust: trust).get() } }

            // Receipts of a batch ack are single too.
            let acked = try await Self.batchAck(client, messages, token: tokens["xinsheng"])
            let receipts = try (acked.json?["results"]?.arrayValue ?? []).map { try Receipt(json: try #require($0["receipt"])) }
            #expect(receipts.count == 3, "\(acked.text)")
            #expect(receipts.allSatisfy { $0.signature.batch == nil })
            for receipt in receipts { #expect(throws: Never.self) { try receipt.verify(trust: trust).get() } }
        }
    }

    @Test func aOneRecordDocumentIsSignedInTheSingleForm() async throws {
        try await Self.withGateway { client, tokens, data in
            let submitted = try await client.call(
                "POST", "/v1/documents", token: tokens["renshi"], body: try fixture("sc-traffic-xml/001-formats-example-gbk.xml"))
            #expect(submitted.json?["accepted"] == 1, "\(submitted.text)")
            let leased = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["max": 10])
            let message = try #require(leased.json?["messages"]?.arrayValue?.first, "\(leased.text)")
            let envelope = try Envelope(json: try #require(message["envelope"]))
            #expect(envelope.signature.batch == nil)
            #expect(throws: Never.self) { try envelope.verify(trust: try Self.trust(data)).get() }
        }
    }

    /// The `i`-th result of a batch ack answer.
    static func result(_ answer: HTTPAnswer, _ i: Int) -> JSONValue? {
        guard let results = answer.json?["results"]?.arrayValue, i < results.count else { return nil }
        return results[i]
    }

    static func batchAck(_ client: APIClient, _ messages: [JSONValue], token: String?, outcome: String = "accepted") async throws -> HTTPAnswer {
        let acks: [JSONValue] = messages.map {
            ["envelopeId": $0["envelopeId"] ?? .null, "leaseToken": $0["leaseToken"] ?? .null, "outcome": .string(outcome)]
        }
        return try await client.call("POST", "/v1/inbox/ack", token: token, json: ["acks": .array(acks)])
    }

    @Test func oneAckRequestSettlingSeveralMessagesIssuesTheirReceiptsAsOneBatch() async throws {
        try await Self.withGateway { client, tokens, data in
            let messages = try await Self.submitAndLease(client, tokens)
            try #require(messages.count == 3)
            let trust = try Self.trust(data)
            let xinsheng = try #require(tokens["xinsheng"])

            // Two of the three, and a made-up lease: two receipts in one batch, the third 409.
            let forged: JSONValue = ["envelopeId": messages[2]["envelopeId"] ?? .null, "leaseToken": "not-a-lease-token"]
            let first = try await Self.batchAck(client, [messages[0], messages[1], forged], token: xinsheng)
            #expect(first.status == 200, "\(first.text)")
            let results = first.json?["results"]?.arrayValue ?? []
            try #require(results.count == 3, "\(first.text)")
            #expect(results.map { $0["envelopeId"] } == [messages[0]["envelopeId"], messages[1]["envelopeId"], messages[2]["envelopeId"]])
            #expect(results[2]["status"] == 409)
            #expect(results[2]["error"]?["code"] == "unknown-lease")
            let receipts = try results.prefix(2).map { try Receipt(json: try #require($0["receipt"], "\(first.text)")) }
            let proofs = try receipts.map { try BatchProof(json: try #require($0.signature.batch, "no batch")) }
            #expect(proofs.map(\.size) == [2, 2])
            #expect(proofs.map(\.index) == [0, 1])
            #expect(receipts[0].signature.value == receipts[1].signature.value)
            for (receipt, message) in zip(receipts, messages) {
                #expect(throws: Never.self) { try receipt.verify(trust: try Self.trust(data)).get() }
                #expect(receipt.envelopeId == message["envelopeId"]?.stringValue)
                #expect(receipt.acknowledges(try Envelope(json: try #require(message["envelope"]))))
            }
            // A tampered receipt of the batch fails as bad-signature.
            var tampered = receipts[1]
            tampered.header["receivedAt"] = "2020-01-01T00:00:00Z"
            if case .failure(let failure) = tampered.verify(trust: trust) {
                #expect(failure.code == .badSignature)
            } else {
                Issue.record("a tampered batch receipt verified")
            }

            // The same batch again (its answer lost): the same receipts, byte for byte; a single
            // repeat of one answers its stored batch receipt too.
            let again = try await Self.batchAck(client, [messages[0], messages[1]], token: xinsheng)
            #expect(Self.result(again, 0)?["receipt"] == results[0]["receipt"], "\(again.text)")
            #expect(Self.result(again, 1)?["receipt"] == results[1]["receipt"], "\(again.text)")
            let single = try await AckIdempotenceTests.ack(client, messages[1], token: xinsheng, outcome: "accepted")
            #expect(single.status == 200, "\(single.text)")
            #expect(single.json?["receipt"] == results[1]["receipt"])
            // Another outcome for an acked message: per-ack 409, nothing changed.
            let changed = try await Self.batchAck(client, [messages[0]], token: xinsheng, outcome: "rejected")
            #expect(changed.status == 400, "a rejected outcome without a reason: \(changed.text)")

            // The last one alone in a batch request: the single form.
            let last = try await Self.batchAck(client, [messages[2]], token: xinsheng)
            let lastReceipt = try Receipt(json: try #require(Self.result(last, 0)?["receipt"], "\(last.text)"))
            #expect(lastReceipt.signature.batch == nil)

            // renshi reads three receipts, each verifying.
            let stored = try await client.call("GET", "/v1/receipts", token: tokens["renshi"])
            let listed = stored.json?["receipts"]?.arrayValue ?? []
            #expect(listed.count == 3, "\(stored.text)")
            for entry in listed {
                let receipt = try Receipt(json: try #require(entry["receipt"]))
                #expect(throws: Never.self) { try receipt.verify(trust: trust).get() }
            }
            // Another participant's batch ack of xinsheng's messages learns nothing.
            let foreign = try await Self.batchAck(client, [messages[0]], token: tokens["liangping"])
            #expect(Self.result(foreign, 0)?["status"] == 409, "\(foreign.text)")
            #expect(Self.result(foreign, 0)?["receipt"] == nil)
        }
    }

    @Test func aBatchAckRequestIsChecked() async throws {
        try await Self.withGateway { client, tokens, _ in
            let xinsheng = tokens["xinsheng"]
            for body: JSONValue in [["acks": []], ["acks": "x"], ["acks": [["leaseToken": "t"]]], ["acks": [["envelopeId": "e", "leaseToken": "t", "outcome": "maybe"]]]] {
                let answer = try await client.call("POST", "/v1/inbox/ack", token: xinsheng, json: body)
                #expect(answer.status == 400, "\(answer.text)")
                #expect(answer.json?["error"]?["code"] == "bad-request")
            }
            let unauthenticated = try await client.call("POST", "/v1/inbox/ack", json: ["acks": [["envelopeId": "e", "leaseToken": "t"]]])
            #expect(unauthenticated.status == 401)
        }
    }

    @Test func theSigningSectionIsReadAndUnknownKeysAreRefused() throws {
        #expect(try ConfigurationFileTests.load("algorithm: SM2-SM3\n").signing.batch == true)
        #expect(try ConfigurationFileTests.load("signing:\n  batch: false\n").signing.batch == false)
        let typo = ConfigurationFileTests.refusal("signing:\n  batches: false\n")
        #expect(typo?.contains("unknown key 'signing.batches'") == true, "\(typo ?? "accepted")")
        let notBool = ConfigurationFileTests.refusal("signing:\n  batch: sometimes\n")
        #expect(notBool?.contains("'signing.batch' must be true or false") == true, "\(notBool ?? "accepted")")
    }
}

import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import Testing
import TestSupport

/// Issue 18 item 1 across two `xgw serve` nodes (mutual TLS on loopback): the sending node seals a
/// document's envelopes as one batch, the receiving node verifies and accepts each batch-signed
/// envelope, and the receipts of one batch ack there travel back batch-signed and verify at the
/// sender.
@Suite(.serialized) struct FederationBatchSignatureTests {
    @Test func batchSignedEnvelopesAndReceiptsCrossBetweenNodes() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("renshi-node")
        try await nodes.start("xinsheng-node")

        let submitted = try await nodes.client("renshi-node").call(
            "POST", "/v1/documents", token: nodes.token("renshi-node", "renshi"), body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
        #expect(submitted.status == 200, "\(submitted.text)")
        #expect(submitted.json?["accepted"] == 3, "\(submitted.text)")
        let messages = try await FederationTests.lease(nodes, "xinsheng-node", "xinsheng", count: 3, seconds: 120)
        try #require(messages.count == 3, "\(nodes.servers["xinsheng-node"]!.log.suffix(3000))")

        // What crossed is the batch: one signature value, size 3, every index; each verifies alone.
        let trust = try TrustStore(rootsFile: nodes.alliance.alliance.caCertificatePath)
        let envelopes = try messages.map { try Envelope(json: try #require($0["envelope"])) }
        let proofs = try envelopes.map { try BatchProof(json: try #require($0.signature.batch, "not batch-signed")) }
        #expect(proofs.map(\.size) == [3, 3, 3])
        #expect(Set(proofs.map(\.index)) == [0, 1, 2])
        #expect(Set(envelopes.map(\.signature.value)).count == 1)
        for envelope in envelopes {
            #expect(envelope.from == "renshi")
            if case .failure(let failure) = envelope.verify(trust: trust) { Issue.record("\(failure)") }
        }

        // One ack request at xinsheng-node: three receipts signed as one batch, forwarded to renshi-node.
        let acks: [JSONValue] = messages.map { ["envelopeId": $0["envelopeId"] ?? .null, "leaseToken": $0["leaseToken"] ?? .null] }
        let acked = try await nodes.client("xinsheng-node").call(
            "POST", "/v1/inbox/ack", token: nodes.token("xinsheng-node", "xinsheng"), json: ["acks": .array(acks)])
        #expect(acked.status == 200, "\(acked.text)")
        #expect(acked.json?["results"]?.arrayValue?.allSatisfy { $0["status"] == 200 } == true, "\(acked.text)")

        var receipts: [JSONValue] = []
        let deadline = Date().addingTimeInterval(120)
        while receipts.count < 3 && Date() < deadline {
            receipts = try await nodes.client("renshi-node").call("GET", "/v1/receipts", token: nodes.token("renshi-node", "renshi"))
                .json?["receipts"]?.arrayValue ?? []
            if receipts.count < 3 { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(receipts.count == 3, "\(nodes.servers["xinsheng-node"]!.log.suffix(3000))")
        let signed = try receipts.map { try Receipt(json: try #require($0["receipt"])) }
        #expect(signed.allSatisfy { $0.by == "xinsheng" && $0.signature.batch != nil })
        #expect(Set(signed.map(\.signature.value)).count == 1)
        for receipt in signed {
            if case .failure(let failure) = receipt.verify(trust: trust) { Issue.record("\(failure)") }
        }
    }
}

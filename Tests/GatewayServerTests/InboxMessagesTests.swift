import Foundation
import GatewayModel
import GatewayServer
import GatewaySigning
import TestSupport
import Testing

/// Issue 16 item 6: `GET /v1/inbox/messages`, a page of one's inbox as headers, through the API
/// `xgw serve` builds (in process, a real SQLite file and real keys): nothing leased or changed,
/// no payload, one's own inbox only, ops for any participant, paging with `next`.
@Suite struct InboxMessagesTests {
    static func page(_ client: APIClient, _ query: String, token: String?) async throws -> HTTPAnswer {
        try await client.call("GET", "/v1/inbox/messages" + query, token: token)
    }

    static func records(_ answer: HTTPAnswer) -> [String] {
        (answer.json?["messages"]?.arrayValue ?? []).compactMap { $0["recordId"]?.stringValue }
    }

    @Test func aParticipantPagesItsInboxHeadersWithoutLeasing() async throws {
        try await AckIdempotenceTests.withGateway { client, tokens, _ in
            let renshi = try #require(tokens["renshi"]), xinsheng = try #require(tokens["xinsheng"]), ops = try #require(tokens["ops"])
            let submitted = try await client.call("POST", "/v1/documents", token: renshi, body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
            #expect(submitted.status == 200, "\(submitted.text)")
            let sent = (submitted.json?["records"]?.arrayValue ?? []).compactMap { $0["recordId"]?.stringValue }
            try #require(sent.count == 3, "\(submitted.text)")

            let all = try await Self.page(client, "", token: xinsheng)
            #expect(all.status == 200, "\(all.text)")
            #expect(all.json?["participant"] == "xinsheng")
            #expect(Self.records(all) == sent, "\(all.text)")
            let first = try #require(all.json?["messages"]?.arrayValue?.first)
            #expect(first["status"] == "queued" && first["submitter"] == "renshi" && first["kind"] == "traffic-violation")
            #expect(first["deliveryCount"] == 0 && first["envelopeId"]?.stringValue?.isEmpty == false)
            #expect(first["enqueuedAt"]?.stringValue.flatMap(Timestamp.date) != nil, "\(first)")
            // Headers only: no envelope, no lease token, nothing of the payload (plates, names).
            for key in ["envelope", "leaseToken", "payload"] { #expect(first[key] == nil, "\(key) in \(first)") }
            #expect(!all.text.contains("川"), "a plate or a place of the payload in \(all.text)")
            #expect(all.json?["next"] == nil)

            // Reading leased nothing: the counts, and a lease, are as before.
            let counts = try await client.call("GET", "/v1/inbox", token: xinsheng)
            #expect(counts.json?["queued"] == 3 && counts.json?["leased"] == 0, "\(counts.text)")
            let leased = try await client.call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 1])
            let lease = try #require(leased.json?["messages"]?.arrayValue?.first)
            #expect(lease["recordId"]?.stringValue == sent[0])

            let after = try await Self.page(client, "", token: xinsheng)
            let statuses = (after.json?["messages"]?.arrayValue ?? []).compactMap { $0["status"]?.stringValue }
            #expect(statuses == ["leased", "queued", "queued"], "\(after.text)")
            let leasedHeader = after.json?["messages"]?.arrayValue?.first
            #expect(leasedHeader?["leaseExpiresAt"] == lease["leaseExpiresAt"], "\(after.text)")
            #expect(leasedHeader?["leaseToken"] == nil)
            #expect(Self.records(try await Self.page(client, "?status=queued", token: xinsheng)) == Array(sent[1...]))
            #expect(Self.records(try await Self.page(client, "?status=leased,dead", token: xinsheng)) == [sent[0]])

            // Paging: limit 2, then after=next.
            let one = try await Self.page(client, "?limit=2", token: xinsheng)
            #expect(Self.records(one) == Array(sent[..<2]))
            let next = try #require(one.json?["next"]?.stringValue, "\(one.text)")
            let two = try await Self.page(client, "?limit=2&after=\(next)", token: xinsheng)
            #expect(Self.records(two) == [sent[2]] && two.json?["next"] == nil, "\(two.text)")

            // One's own inbox only; ops names any participant.
            let own = try await Self.page(client, "", token: renshi)
            #expect(own.status == 200 && Self.records(own).isEmpty, "\(own.text)")
            #expect(try await Self.page(client, "?participant=renshi", token: renshi).status == 200)
            #expect(try await Self.page(client, "?participant=xinsheng", token: renshi).status == 403)
            let byOps = try await Self.page(client, "?participant=xinsheng&status=queued", token: ops)
            #expect(byOps.status == 200 && Self.records(byOps) == Array(sent[1...]), "\(byOps.text)")
            #expect(try await Self.page(client, "", token: ops).status == 400)
            #expect(try await Self.page(client, "?participant=nobody", token: ops).status == 404)
            #expect(try await Self.page(client, "", token: nil).status == 401)

            // Malformed queries: 400 naming the parameter.
            for query in ["?status=acked", "?status=queued,", "?status=QUEUED", "?limit=0", "?limit=1001", "?after=x", "?after=-1"] {
                let refused = try await Self.page(client, query, token: xinsheng)
                #expect(refused.status == 400, "\(query): \(refused.text)")
            }
            let refused = try await Self.page(client, "?status=acked", token: xinsheng)
            #expect(refused.text.contains("status"), "\(refused.text)")

            // After all these reads: still one leased, two queued, nothing acked or dead.
            let end = try await client.call("GET", "/v1/inbox", token: xinsheng)
            #expect(end.json?["queued"] == 2 && end.json?["leased"] == 1 && end.json?["acked"] == 0 && end.json?["dead"] == 0, "\(end.text)")
        }
    }
}

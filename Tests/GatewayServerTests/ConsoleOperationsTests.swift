import Foundation
import GatewayModel
import GatewayQueue
import GatewayServer
import GatewaySigning
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Issue 15's operations pages over real HTTP (`.live`, a loopback socket): dead letters and their
/// replay (a confirmation step, the CSRF token, ops only), the mapping playground (records,
/// rejections with masked lineage, nothing enqueued or counted), participants and certificates.
@Suite struct ConsoleOperationsTests {
    typealias Browser = ConsoleTests.Browser

    /// A gateway (ES256) on a temporary folder, its first start's tokens, run over loopback.
    static func withGateway(_ test: @Sendable (APIClient, Gateway, [String: String]) async throws -> Void) async throws {
        let gateway = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"])
        defer { gateway.remove() }
        try await gateway.run(.live) { client, server in try await test(client, server, server.tokensByName) }
    }

    /// renshi submits three records to xinsheng; xinsheng leases one and its office system refuses
    /// it for good (the queue's `deadLetter`, as a connector does for a record that does not render).
    /// Returns the dead envelope's id and message id.
    static func oneDeadLetter(_ client: APIClient, _ gateway: Gateway, _ tokens: [String: String]) async throws -> (String, Int64) {
        let submitted = try await client.call(
            "POST", "/v1/documents", token: tokens["renshi"], body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
        try #require(submitted.status == 200, "\(submitted.text)")
        let leased = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["max": 1])
        let message = try #require(leased.json?["messages"]?.arrayValue?.first, "\(leased.text)")
        let envelopeId = try #require(message["envelopeId"]?.stringValue)
        let token = try #require(message["leaseToken"]?.stringValue)
        try await gateway.queue.deadLetter(participant: "xinsheng", leaseToken: LeaseToken(token), reason: "office system refused: code 17")
        let dead = try await gateway.queue.deadLetters(participant: "xinsheng", limit: 10)
        try #require(dead.count == 1)
        return (envelopeId, dead[0].messageId.rawValue)
    }

    /// renshi submits three records to xinsheng; xinsheng leases all three and dead-letters them
    /// in `order` (indexes into the lease), each with `reason(index)`.
    static func threeDeadLetters(
        _ client: APIClient, _ gateway: Gateway, _ tokens: [String: String], order: [Int], reason: (Int) -> String
    ) async throws {
        let submitted = try await client.call(
            "POST", "/v1/documents", token: tokens["renshi"], body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
        try #require(submitted.status == 200, "\(submitted.text)")
        let leased = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["max": 3])
        let messages = try #require(leased.json?["messages"]?.arrayValue)
        try #require(messages.count == 3, "\(leased.text)")
        for index in order {
            let token = try #require(messages[index]["leaseToken"]?.stringValue)
            try await gateway.queue.deadLetter(participant: "xinsheng", leaseToken: LeaseToken(token), reason: reason(index))
        }
    }

    static func depth(_ gateway: Gateway, _ participant: String) async throws -> QueueDepth {
        try await gateway.queue.depths()[participant] ?? QueueDepth()
    }

    @Test func aDeadLetterIsReplayedAfterAConfirmationAndLeavesTheList() async throws {
        try await Self.withGateway { client, gateway, tokens in
            let (envelopeId, messageId) = try await Self.oneDeadLetter(client, gateway, tokens)
            let ops = Browser(client.client)
            try await ops.signIn(try #require(tokens["ops"]))
            let list = try await ops.request(.get, "/console/dead-letters")
            #expect(list.status == 200)
            #expect(list.text.contains(envelopeId) && list.text.contains("office system refused: code 17"), "\(list.text.prefix(3000))")
            #expect(list.text.contains("立即转为死信 Dead at once") && list.text.contains("<td class=\"num\">1</td>"), "reason and attempts")
            #expect(list.text.contains("<label for=\"select-\(messageId)\">"), "every checkbox has a label")
            #expect(list.text.contains("href=\"/console/dead-letters\"") && list.text.contains("死信 <span lang=\"en\">Dead letters</span>"), "in the navigation")
            let csrf = try #require(list.csrf)

            // Without the CSRF token, or with another: refused, still dead.
            #expect(try await ops.request(.post, "/console/dead-letters", form: ["step": "replay", "ids": "\(messageId)"]).status == 403)
            #expect(try await ops.request(.post, "/console/dead-letters", form: ["_csrf": String(csrf.reversed()), "step": "replay", "ids": "\(messageId)"]).status == 403)
            #expect(try await Self.depth(gateway, "xinsheng").dead == 1)

            // The first POST only asks for confirmation.
            let confirm = try await ops.request(.post, "/console/dead-letters", form: ["_csrf": csrf, "step": "confirm", "id-\(messageId)": "\(messageId)"])
            #expect(confirm.status == 200 && confirm.text.contains("confirm-list") && confirm.text.contains(envelopeId), "\(confirm.text.prefix(3000))")
            #expect(try await Self.depth(gateway, "xinsheng").dead == 1, "nothing replayed before the confirmation")

            // A participant (even the destination) cannot replay; it sees its own dead letter, another does not.
            let xinsheng = Browser(client.client)
            try await xinsheng.signIn(try #require(tokens["xinsheng"]))
            let own = try await xinsheng.request(.get, "/console/dead-letters")
            #expect(own.status == 200 && own.text.contains(envelopeId) && !own.text.contains("replay-selected"))
            let refused = try await xinsheng.request(.post, "/console/dead-letters", form: ["_csrf": try #require(own.csrf), "step": "replay", "ids": "\(messageId)"])
            #expect(refused.status == 403)
            let kaijiang = Browser(client.client)
            try await kaijiang.signIn(try #require(tokens["kaijiang"]))
            let other = try await kaijiang.request(.get, "/console/dead-letters")
            #expect(other.status == 200 && !other.text.contains(envelopeId) && other.text.contains("没有死信 No dead letters"))
            #expect(try await Self.depth(gateway, "xinsheng").dead == 1)

            // Confirmed: queued again, delivery count reset, gone from the list.
            let replayed = try await ops.request(.post, "/console/dead-letters", form: ["_csrf": csrf, "step": "replay", "ids": "\(messageId)"])
            #expect(replayed.status == 303 && replayed.headers[.location] == "/console/dead-letters?replayed=1")
            let after = try await ops.request(.get, "/console/dead-letters?replayed=1")
            #expect(after.text.contains("replay-result") && !after.text.contains(envelopeId), "\(after.text.prefix(3000))")
            let depth = try await Self.depth(gateway, "xinsheng")
            #expect(depth.dead == 0 && depth.queued == 3, "\(depth)")
            let history = try await gateway.queue.history(envelopeId: envelopeId).map(\.event.rawValue)
            #expect(history.last == "replayed", "\(history)")
        }
    }

    /// The selection goes to the queue as one batch (`replay(messageIds:)`): three dead letters,
    /// one replayed through the API meanwhile, are confirmed together; the other two are queued
    /// again and the stale one is named with its reason. The list shows each row's kind (its
    /// envelope, all read in one query).
    @Test func aSelectionIsReplayedAsOneBatchAndAMessageNoLongerDeadIsNamed() async throws {
        try await Self.withGateway { client, gateway, tokens in
            try await Self.threeDeadLetters(client, gateway, tokens, order: [0, 1, 2]) { _ in "office system refused: code 17" }
            let dead = try await gateway.queue.deadLetters(participant: "xinsheng", limit: 10)
            try #require(dead.count == 3)
            let kind = try #require(try await gateway.queue.storedEnvelope(id: dead[0].envelopeId)?.kind)
            let ops = Browser(client.client)
            try await ops.signIn(try #require(tokens["ops"]))
            let list = try await ops.request(.get, "/console/dead-letters")
            #expect(list.text.components(separatedBy: "<td>\(kind)</td>").count - 1 == 3, "each row's kind: \(list.text.prefix(3000))")
            let csrf = try #require(list.csrf)
            let ids = dead.map { String($0.messageId.rawValue) }
            var form = ["_csrf": csrf, "step": "confirm"]
            for id in ids { form["id-\(id)"] = id }
            let confirm = try await ops.request(.post, "/console/dead-letters", form: form)
            #expect(confirm.text.contains("确认重放 Replay 3"), "\(confirm.text.prefix(3000))")

            // Meanwhile another operator replays the first through the API.
            let api = try await client.call("POST", "/v1/ops/dead-letters/\(ids[0])/replay", token: tokens["ops"])
            #expect(api.status == 200, "\(api.text)")
            let replayed = try await ops.request(
                .post, "/console/dead-letters", form: ["_csrf": csrf, "step": "replay", "ids": ids.joined(separator: ",")])
            #expect(replayed.status == 200 && replayed.text.contains("已重新排队 2 条 Replayed 2"), "\(replayed.text.prefix(3000))")
            #expect(replayed.text.contains("消息 Message \(ids[0]):") && replayed.text.contains("only a dead message can be replayed"),
                "the stale one named with why: \(replayed.text.prefix(3000))")
            #expect(try await Self.depth(gateway, "xinsheng") == QueueDepth(queued: 3, leased: 0, dead: 0))
            for letter in dead {
                let events = try await gateway.queue.history(envelopeId: letter.envelopeId).map(\.event)
                #expect(events.filter { $0 == .replayed }.count == 1, "replayed once each: \(events)")
            }
        }
    }

    /// The list is one search of the whole queue: every dead letter the principal may see, oldest
    /// message id first whatever order they died in, each with its kind, attempts, last error and
    /// when it died (as the queue's dead letters give it, in UTC+8).
    @Test func theListShowsEveryVisibleDeadLetterOldestFirstWithWhenItDied() async throws {
        try await Self.withGateway { client, gateway, tokens in
            // Dead in another order than enqueued: the last first.
            try await Self.threeDeadLetters(client, gateway, tokens, order: [2, 0, 1]) { "refused \($0)" }
            let dead = try await gateway.queue.deadLetters(participant: "xinsheng", limit: 10)
            try #require(dead.count == 3)
            let byId = dead.sorted { $0.messageId < $1.messageId }
            let kind = try #require(try await gateway.queue.storedEnvelope(id: dead[0].envelopeId)?.kind)
            let format = DateFormatter()
            format.locale = Locale(identifier: "en_US_POSIX")
            format.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
            format.dateFormat = "yyyy-MM-dd HH:mm:ss"
            let ops = Browser(client.client), renshi = Browser(client.client)
            try await ops.signIn(try #require(tokens["ops"]))
            try await renshi.signIn(try #require(tokens["renshi"]))
            for (who, browser) in [("ops", ops), ("renshi, the sender", renshi)] {
                let list = try await browser.request(.get, "/console/dead-letters")
                #expect(list.status == 200 && list.text.contains("共 3 条死信 3 dead letters"), "\(who): \(list.text.prefix(3000))")
                let rows = list.text.components(separatedBy: "<tr>").dropFirst(2)
                #expect(rows.count == 3, "\(who): \(rows)")
                for (row, letter) in zip(rows, byId) {
                    let cells = [
                        "<td class=\"num\">\(letter.messageId.rawValue)</td>", "<code>\(letter.envelopeId)</code>", "<td>\(kind)</td>",
                        "<td>\(letter.recordId)</td>", "<td>renshi</td>", "<td>xinsheng</td>", "<td class=\"num\">1</td>",
                        "<code>\(letter.lastError ?? "-")</code>", "<td>\(format.string(from: letter.diedAt))</td>",
                    ]
                    for cell in cells { #expect(row.contains(cell), "\(who): \(cell) in \(row)") }
                }
            }
        }
    }

    /// A multipart/form-data body as a browser sends the playground's form.
    static func multipart(_ fields: [(String, String)], file: (name: String, filename: String, bytes: [UInt8])?) -> (String, [UInt8]) {
        let boundary = "----xgwtest\(UInt32.random(in: 0...UInt32.max))"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        if let file {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: application/xml\r\n\r\n".utf8)
            body += file.bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    static func post(_ browser: Browser, _ path: String, contentType: String, body: [UInt8]) async throws -> ConsoleTests.Page {
        var headers = HTTPFields()
        headers[.cookie] = browser.jar.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
        headers[.contentType] = contentType
        let response = try await browser.client.executeRequest(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
        return ConsoleTests.Page(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    @Test func thePlaygroundTranslatesAndExplainsWithoutEnqueueingOrSigning() async throws {
        try await Self.withGateway { client, gateway, tokens in
            let browser = Browser(client.client)
            try await browser.signIn(try #require(tokens["renshi"]))
            let page = try await browser.request(.get, "/console/playground")
            #expect(page.status == 200 && page.text.contains("<label for=\"pg-document\">") && page.text.contains("<label for=\"pg-file\">"))
            #expect(page.text.contains("enctype=\"multipart/form-data\"") && page.text.contains("<option value=\"sc-traffic-xml\">"), "\(page.text.prefix(3000))")
            let csrf = try #require(page.csrf)
            let depthsBefore = try await gateway.queue.depths()

            // A GBK document uploaded as a file (bytes kept), auto-detected: two records and their lineage.
            let gbk = try fixture("sc-traffic-xml/005-gbk-batch-two.xml")
            let (type1, body1) = Self.multipart([("_csrf", csrf), ("document", ""), ("mapping", "")], file: ("file", "005.xml", gbk))
            let valid = try await Self.post(browser, "/console/playground", contentType: type1, body: body1)
            #expect(valid.status == 200, "\(valid.text.prefix(2000))")
            #expect(valid.text.contains("<strong>sc-traffic-xml</strong>") && valid.text.contains("记录 2 条 records translated"), "\(valid.text.prefix(4000))")
            #expect(valid.text.contains("来源追溯 Lineage") && valid.text.contains("<code>/vehicle/plate</code>"), "the --explain lineage")

            // Pasted, with the mapping chosen: the rejection names member, source and code; its
            // lineage masks the ID number and the name (the page does not echo an upload).
            let bad = try fixture("sc-traffic-xml/028-id-number-bad-check-character.xml")
            let (type2, body2) = Self.multipart([("_csrf", csrf), ("document", ""), ("mapping", "sc-traffic-xml")], file: ("file", "028.xml", bad))
            let invalid = try await Self.post(browser, "/console/playground", contentType: type2, body: body2)
            #expect(invalid.status == 200)
            #expect(invalid.text.contains("<code>invalid-id-number</code>") && invalid.text.contains("<code>/driver/idNumber</code>")
                && invalid.text.contains("<code>/root/body/vio/jszh</code>"), "\(invalid.text.prefix(5000))")
            #expect(!invalid.text.contains("511723199001011234") && !invalid.text.contains("张三"), "personal data masked in a rejection")
            #expect(invalid.text.contains("511723********1234"))

            // Pasted text works too (and is shown back as pasted).
            let pasted = String(decoding: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"), as: UTF8.self)
            let (type3, body3) = Self.multipart([("_csrf", csrf), ("document", pasted), ("mapping", "")], file: nil)
            let text = try await Self.post(browser, "/console/playground", contentType: type3, body: body3)
            #expect(text.status == 200 && text.text.contains("记录 3 条 records translated"), "\(text.text.prefix(3000))")

            // Without the CSRF token: refused.
            let (type4, body4) = Self.multipart([("document", pasted)], file: nil)
            #expect(try await Self.post(browser, "/console/playground", contentType: type4, body: body4).status == 403)

            // Nothing enqueued, stored, signed or counted.
            #expect(try await gateway.queue.depths() == depthsBefore)
            let metrics = try await client.call("GET", "/metrics")
            #expect(!metrics.text.contains("xgw_records_total{"), "no record counted: \(metrics.text.prefix(500))")
            let receipts = try await client.call("GET", "/v1/receipts", token: tokens["renshi"])
            #expect(receipts.json?["receipts"]?.arrayValue?.isEmpty == true, "\(receipts.text)")
        }
    }

    @Test func participantsAndCertificatesOpsSeesAllAParticipantItsOwnAndRevocationShows() async throws {
        let folder = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"])
        defer { folder.remove() }
        try await folder.run(.live) { client, gateway in
            let tokens = gateway.tokensByName
            let ops = Browser(client.client)
            try await ops.signIn(try #require(tokens["ops"]))
            let all = try await ops.request(.get, "/console/participants")
            #expect(all.status == 200)
            let participants = gateway.seeds.participants.map(\.id)
            for id in participants { #expect(all.text.contains("id=\"participant-\(id)\""), "\(id) listed") }
            #expect(all.text.contains("✓ 有效 Valid") && all.text.contains("ES256"), "\(all.text.prefix(3000))")
            #expect(all.text.contains("URI=") && all.text.contains("剩余天数 Days to expiry"))

            let renshi = Browser(client.client)
            try await renshi.signIn(try #require(tokens["renshi"]))
            let own = try await renshi.request(.get, "/console/participants")
            #expect(own.status == 200 && own.text.contains("id=\"participant-renshi\""))
            for id in participants where id != "renshi" { #expect(!own.text.contains("id=\"participant-\(id)\""), "\(id) hidden") }

            // `xgw pki revoke` rewrites the CRL; the page shows the revocation once the server re-reads it.
            let pki = folder.data.appendingPathComponent("pki").path
            let serial = try Certificate(file: pki + "/offices/renshi.cert.pem").serial
            #expect(try TestBinary.run("xgw", ["pki", "revoke", "--dir", pki, serial]).status == 0)
            var revoked = false
            for _ in 0..<600 where !revoked {
                revoked = try await renshi.request(.get, "/console/participants").text.contains("✗ 已吊销 Revoked")
                if !revoked { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(revoked, "the CRL's revocation shown within 120 s")
            let after = try await ops.request(.get, "/console/participants")
            #expect(after.text.contains(serial) && after.text.contains("吊销于 revoked at"), "\(after.text.prefix(4000))")
        }
    }
}

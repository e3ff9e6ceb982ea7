import Foundation
import GatewayModel
import GatewayServer
import TestSupport
import Testing

/// Issue 16 items 2 and 3: an audit line for every rejected record (ids and codes, never the
/// record's personal data), the caller and envelope and record ids on the lines of submit, lease,
/// ack and receipts, and `logFormat: json` (one parseable object per line) in a real `xgw serve`.
@Suite struct AuditLogTests {
    @Test func aRejectedRecordLeavesAnAuditLineWithIdsAndCodesButNoPersonalData() async throws {
        let api = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"])
        defer { api.remove() }
        try await api.run { client, gateway in
            let tokens = gateway.tokensByName
            // Record 1 of 3 has an ID number with a wrong check character; its driver is 李四.
            let body = try fixture("cq-traffic-json/044-batch-bad-record-in-middle.json")
            let answer = try await client.call("POST", "/v1/documents", token: tokens["xinsheng"], body: body)
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.json?["rejected"] == 1)
            let accepted = (answer.json?["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
            #expect(accepted.count == 2)
        }
        let lines = api.log.text.split(separator: "\n").map(String.init)
        let rejected = try #require(lines.first { $0.contains("record rejected") }, "\(api.log.text)")
        for part in [
            "caller=xinsheng", "submitter=xinsheng", "mapping=cq-traffic-json", "index=1",
            "recordId=cq-traffic:CQ5001552023071400032", "codes=[\"invalid-id-number\"]", "paths=[\"/driver/idNumber\"]", "requestId=",
        ] {
            #expect(rejected.contains(part), "\(part) in \(rejected)")
        }
        #expect(lines.filter { $0.contains("record accepted") && $0.contains("caller=xinsheng") && $0.contains("envelopeId=") }.count == 2)
        // No line carries the driver's ID numbers or name (the rejected one nor the accepted ones').
        for secret in ["500228199001011234", "500228199001011235", "李四"] {
            #expect(!api.log.text.contains(secret), "\(secret) in the log")
        }
    }

    @Test func logFormatJSONWritesParseableLinesWithCallerAndIds() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let config = data.appendingPathComponent("server.yaml")
        try "logFormat: json\nalgorithm: ES256\n".write(to: config, atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(data: data, arguments: ["--config", config.path])
        let client = HTTPClient(port: server.port)
        let renshi = try #require(server.printedTokens["renshi"]), xinsheng = try #require(server.printedTokens["xinsheng"])

        let submitted = try await client.call("POST", "/v1/documents", token: renshi, body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
        #expect(submitted.status == 200, "\(submitted.text)")
        let envelopeIds = (submitted.json?["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
        let recordIds = (submitted.json?["records"]?.arrayValue ?? []).compactMap { $0["recordId"]?.stringValue }
        try #require(envelopeIds.count == 3)
        let leased = try await client.call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 1])
        let message = try #require(leased.json?["messages"]?.arrayValue?.first)
        let envelopeId = try #require(message["envelopeId"]?.stringValue)
        let acked = try await client.call(
            "POST", "/v1/inbox/\(envelopeId)/ack", token: xinsheng, json: ["leaseToken": message["leaseToken"] ?? .null])
        #expect(acked.status == 200, "\(acked.text)")
        let receipts = try await client.call("GET", "/v1/receipts", token: renshi)
        #expect(receipts.status == 200)
        #expect(await server.stop() == 0)

        var objects: [JSONValue] = []
        for line in server.log.split(separator: "\n") {
            let value = try JSONParser.parse(Array(line.utf8))
            #expect(value["timestamp"]?.stringValue != nil && value["level"]?.stringValue != nil, "\(line)")
            #expect(value["label"]?.stringValue != nil && value["message"]?.stringValue != nil, "\(line)")
            #expect(value["metadata"]?.objectValue != nil, "\(line)")
            objects.append(value)
        }
        func lines(_ message: String) -> [JSONValue] { objects.filter { $0["message"]?.stringValue == message } }
        let accepted = lines("record accepted")
        #expect(accepted.count == 3)
        #expect(Set(accepted.compactMap { $0["metadata"]?["envelopeId"]?.stringValue }) == Set(envelopeIds))
        #expect(Set(accepted.compactMap { $0["metadata"]?["recordId"]?.stringValue }) == Set(recordIds))
        #expect(accepted.allSatisfy { $0["metadata"]?["caller"] == "renshi" && $0["metadata"]?["requestId"]?.stringValue != nil })
        #expect(accepted.first?["metadata"]?["destinations"] == ["xinsheng"], "metadata arrays stay JSON arrays")
        // One line per leased message, every field from the lease itself (as a connector's lease
        // writes it, without `connector`).
        let leasedLines = lines("message leased")
        #expect(leasedLines.count == 1, "\(leasedLines)")
        let leasedLine = try #require(leasedLines.first)
        let messageId = try #require(message["messageId"]?.numberValue?.text)
        var leasedFields = Dictionary((leasedLine["metadata"]?.objectValue?.members ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        // The request's own ids (the gateway's and Hummingbird's), different on every run.
        #expect(leasedFields.removeValue(forKey: "requestId")?.stringValue != nil)
        #expect(leasedFields.removeValue(forKey: "hb.request.id")?.stringValue != nil)
        #expect(
            leasedFields == [
                "caller": "xinsheng", "participant": "xinsheng", "envelopeId": .string(envelopeId), "messageId": .string(messageId),
                "recordId": message["recordId"] ?? .null, "submitter": "renshi", "deliveryCount": "0",
            ], "\(leasedLine)")
        let ackedLine = try #require(lines("message acked").first)
        #expect(ackedLine["metadata"]?["caller"] == "xinsheng" && ackedLine["metadata"]?["envelopeId"]?.stringValue == envelopeId)
        #expect(ackedLine["metadata"]?["recordId"]?.stringValue == message["recordId"]?.stringValue)
        #expect(ackedLine["metadata"]?["outcome"] == "accepted")
        let read = try #require(lines("receipts read").first)
        #expect(read["metadata"]?["caller"] == "renshi" && read["metadata"]?["envelopeIds"] == [.string(envelopeId)])
        let requests = lines("request")
        #expect(requests.count >= 4)
        #expect(requests.filter { $0["metadata"]?["route"] == "/v1/documents" }.allSatisfy { $0["metadata"]?["caller"] == "renshi" })
    }

    @Test func anUnknownLogFormatIsRefusedByName() throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let config = data.appendingPathComponent("server.yaml").path
        try "logFormat: xml\n".write(toFile: config, atomically: true, encoding: .utf8)
        #expect {
            try ServerConfiguration.load(file: config, environment: [:])
        } throws: { error in
            "\(error)".contains("logFormat: 'xml' is not one of text, json")
        }
        try "logFormat: json\n".write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try ServerConfiguration.load(file: config, environment: [:]).logFormat == .json)
        #expect(ServerConfiguration().logFormat == .text)
    }
}

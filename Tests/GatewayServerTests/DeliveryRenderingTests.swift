import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueue
import GatewayServer
import GatewaySigning
import Logging
import TestSupport
import Testing

/// Issue 14 item 4: delivery in the receiver's format, through the API `xgw serve` builds, over
/// real HTTP on loopback (a real SQLite file, real keys): a participant's configured format per
/// record kind, the lease request's `format` overriding it, a record that cannot be rendered
/// answered with `renderError` in a lease that still succeeds, the rendering named in the
/// message's history, and a configuration naming a wrong format refused at start.
@Suite struct DeliveryRenderingTests {
    /// xinsheng wants violations as cq-traffic-json and bulletins as cq-bulletin-json.
    static let configured = """
        participants:
          xinsheng:
            delivery:
              formats:
                traffic-violation: cq-traffic-json
                bulletin: cq-bulletin-json
        """

    static func withGateway(
        _ yaml: String = configured, _ test: @Sendable (APIClient, Gateway, _ tokens: [String: String], _ data: URL) async throws -> Void
    ) async throws {
        let gateway = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"]) { data in
            let file = data.appendingPathComponent("xgw.yaml").path
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
            return file
        }
        defer { gateway.remove() }
        try await gateway.run(.live) { client, server in try await test(client, server, server.tokensByName, gateway.data) }
    }

    /// renshi submits the three Sichuan violations of a fixture (routed to xinsheng).
    static func submitThree(_ client: APIClient, _ tokens: [String: String]) async throws {
        let submitted = try await client.call(
            "POST", "/v1/documents", token: tokens["renshi"], body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
        try #require(submitted.status == 200, "\(submitted.text)")
        try #require(submitted.json?["accepted"] == 3, "\(submitted.text)")
    }

    static func lease(_ client: APIClient, _ token: String?, _ body: JSONValue = ["max": 10]) async throws -> [JSONValue] {
        let leased = try await client.call("POST", "/v1/inbox/lease", token: token, json: body)
        try #require(leased.status == 200, "\(leased.text)")
        return leased.json?["messages"]?.arrayValue ?? []
    }

    /// The rendered document's bytes (text, or base64 when not UTF-8).
    static func body(_ rendered: JSONValue) throws -> [UInt8] {
        let text = try #require(rendered["body"]?.stringValue)
        if rendered["bodyEncoding"] == "base64" { return Array(try #require(Data(base64Encoded: text))) }
        #expect(rendered["bodyEncoding"] == "text")
        return Array(text.utf8)
    }

    /// The one record `bytes` translates to with `format`.
    static func translated(_ bytes: [UInt8], _ format: String, _ server: Gateway) -> [JSONValue] {
        var records: [JSONValue] = []
        _ = server.translator.translate(bytes, mappingID: format) { outcome in
            if case .translated(_, let record, _) = outcome { records.append(record) }
        }
        return records
    }

    /// The rendered document of `message` translates back, with `format`, to its envelope's
    /// payload as that format gives it back (its system, its source).
    static func expectTranslatesBack(_ message: JSONValue, _ format: String, _ server: Gateway) throws {
        let rendered = try #require(message["rendered"], "\(message)")
        #expect(rendered["format"]?.stringValue == format)
        let payload = try #require(message["envelope"]?["payload"])
        let back = translated(try body(rendered), format, server)
        let mapping = try #require(server.translator.mapping(id: format))
        try #require(back.count == 1, "\(rendered)")
        // Equal member by member (the order of members is the format's, not the envelope's).
        let expected = try Renderer(mapping: mapping).expectedBack(payload)
        #expect(Renderer.differences(expected, back[0]).isEmpty, "\(Renderer.differences(expected, back[0]))")
        #expect(back[0]["recordId"]?.stringValue?.hasPrefix(mapping.system + ":") == true)
    }

    @Test func theConfiguredFormatIsDeliveredBesideTheEnvelopeAndNamedInTheHistory() async throws {
        try await Self.withGateway { client, server, tokens, _ in
            try await Self.submitThree(client, tokens)
            let messages = try await Self.lease(client, tokens["xinsheng"])
            try #require(messages.count == 3)
            for message in messages {
                try Self.expectTranslatesBack(message, "cq-traffic-json", server)
                #expect(message["rendered"]?["mediaType"] == "application/json")
                #expect(message["rendered"]?["encoding"] == "UTF-8")
                #expect(message["renderError"] == nil)
                // The envelope stays the signed one: it verifies as it is.
                let envelope = try Envelope(json: try #require(message["envelope"]))
                if case .failure(let failure) = envelope.verify(trust: server.trust) { Issue.record("the envelope does not verify: \(failure)") }
            }
            // The receipt is for the envelope; the history names the rendering.
            let ack = try await AckIdempotenceTests.ack(client, messages[0], token: tokens["xinsheng"], outcome: "accepted")
            #expect(ack.status == 200, "\(ack.text)")
            let id = try #require(messages[0]["envelopeId"]?.stringValue)
            let history = try await client.call("GET", "/v1/messages/\(id)/history", token: tokens["xinsheng"])
            let acked = history.json?["history"]?.arrayValue?.first { $0["event"] == "acked" }
            #expect(acked?["detail"] == "rendered: cq-traffic-json", "\(history.text)")

            // renshi configured nothing: its inbox is delivered canonical only, and its acks name nothing.
            let submitted = try await client.call(
                "POST", "/v1/documents", token: tokens["xinsheng"], body: try fixture("cq-traffic-json/001-formats-example.json"))
            #expect(submitted.status == 200, "\(submitted.text)")
            let canonical = try await Self.lease(client, tokens["renshi"])
            try #require(canonical.count == 1)
            #expect(canonical[0]["rendered"] == nil && canonical[0]["renderError"] == nil, "\(canonical[0])")
            let plain = try await AckIdempotenceTests.ack(client, canonical[0], token: tokens["renshi"], outcome: "accepted")
            #expect(plain.status == 200)
            let plainId = try #require(canonical[0]["envelopeId"]?.stringValue)
            let plainHistory = try await client.call("GET", "/v1/messages/\(plainId)/history", token: tokens["renshi"])
            let plainAcked = plainHistory.json?["history"]?.arrayValue?.first { $0["event"] == "acked" }
            #expect(plainAcked != nil && plainAcked?["detail"] == nil, "\(plainHistory.text)")
        }
    }

    @Test func theLeaseRequestsFormatOverridesTheConfiguredOne() async throws {
        try await Self.withGateway { client, server, tokens, _ in
            try await Self.submitThree(client, tokens)
            // Another format of the kind: sc-traffic-xml, written in GBK, so the body is base64.
            let first = try await Self.lease(client, tokens["xinsheng"], ["max": 1, "format": "sc-traffic-xml"])
            try #require(first.count == 1)
            try Self.expectTranslatesBack(first[0], "sc-traffic-xml", server)
            #expect(first[0]["rendered"]?["encoding"] == "GBK")
            #expect(first[0]["rendered"]?["bodyEncoding"] == "base64")
            #expect(first[0]["rendered"]?["mediaType"] == "application/xml; charset=GBK")
            // A format of another kind leaves this kind as configured.
            let second = try await Self.lease(client, tokens["xinsheng"], ["max": 1, "format": "sc-bulletin-xml"])
            try #require(second.count == 1)
            try Self.expectTranslatesBack(second[0], "cq-traffic-json", server)
            // canonical: the envelope alone.
            let third = try await Self.lease(client, tokens["xinsheng"], ["max": 1, "format": "canonical"])
            try #require(third.count == 1)
            #expect(third[0]["rendered"] == nil && third[0]["renderError"] == nil, "\(third[0])")
            #expect(third[0]["envelope"]?["payload"]?["kind"] == "traffic-violation")
            // A format this gateway does not have is a bad request naming the formats.
            let unknown = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["format": "cq-traffic-xml"])
            #expect(unknown.status == 400, "\(unknown.text)")
            #expect(unknown.text.contains("cq-traffic-json"), "\(unknown.text)")
            let number = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["format": 3])
            #expect(number.status == 400, "\(number.text)")
        }
    }

    @Test func aRecordThatCannotBeRenderedCarriesARenderErrorAndTheLeaseSucceeds() async throws {
        try await Self.withGateway { client, server, tokens, data in
            try await Self.submitThree(client, tokens)
            // A valid canonical bulletin whose body cq-bulletin-json's <p> cannot carry (a paragraph
            // ending in blank lines would come back trimmed), signed by liangping as a node would
            // send it, in xinsheng's inbox beside the three violations.
            let line = try #require(try fixture("cq-bulletin-json/001-spec-example.expected.ndjson").split(separator: UInt8(ascii: "\n")).first)
            var record = try #require(try JSONParser.parse(Array(line)).objectValue)
            record["recordId"] = .string("cq-bulletin:DELIVERY-\(UUID().uuidString.prefix(8))")
            record["body"] = .string("第一段。\n\n第二段\n\n\n\n第三段。")
            #expect(CanonicalValidator.validate(.object(record)).isEmpty)
            let pki = PKIDirectory(path: data.path + "/pki")
            let signer = try Signer(keyFile: pki.officeKeyPath("liangping"), certificateFile: pki.officeCertificatePath("liangping"))
            let envelope = try Envelope.seal(record: .object(record), from: "liangping", to: ["xinsheng"], signer: signer)
            _ = try await server.queue.enqueue(
                submitter: "liangping",
                items: [
                    EnqueueItem(
                        envelopeId: try #require(envelope.id), kind: "bulletin", recordId: try #require(record["recordId"]?.stringValue),
                        updatedAt: record["updatedAt"]?.stringValue ?? "", payloadDigest: envelope.payloadDigest?["value"]?.stringValue ?? "",
                        destinations: ["xinsheng"], envelope: envelope.canonicalBytes())
                ])

            let messages = try await Self.lease(client, tokens["xinsheng"])
            try #require(messages.count == 4)
            let bulletin = try #require(messages.first { $0["kind"] == "bulletin" })
            #expect(bulletin["rendered"] == nil)
            let error = try #require(bulletin["renderError"], "\(bulletin)")
            #expect(error["format"] == "cq-bulletin-json")
            let errors = error["errors"]?.arrayValue ?? []
            #expect(errors.first?["code"] == "unrenderable" && errors.first?["path"] == "/body", "\(error)")
            #expect(bulletin["envelope"]?["payload"]?["body"] == record["body"])
            for violation in messages where violation["kind"] == "traffic-violation" {
                try Self.expectTranslatesBack(violation, "cq-traffic-json", server)
            }
            // Acked, its history names no rendering (only the envelope was delivered).
            #expect(try await AckIdempotenceTests.ack(client, bulletin, token: tokens["xinsheng"], outcome: "accepted").status == 200)
            let history = try await client.call(
                "GET", "/v1/messages/\(bulletin["envelopeId"]?.stringValue ?? "")/history", token: tokens["xinsheng"])
            let acked = history.json?["history"]?.arrayValue?.first { $0["event"] == "acked" }
            #expect(acked != nil && acked?["detail"] == nil, "\(history.text)")
        }
    }

    /// Starts a gateway with `yaml` as its configuration file; the error it refuses to start with.
    static func refusal(_ yaml: String) throws -> String? {
        let gateway = try APIGateway.temporary { data in
            let file = data.appendingPathComponent("xgw.yaml").path
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
            return file
        }
        defer { gateway.remove() }
        do {
            _ = try Gateway(configuration: gateway.configuration, metrics: GatewayMetrics(), logger: Logger(label: "test"))
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func formats(_ participant: String, _ pairs: String) -> String {
        "participants:\n  \(participant):\n    delivery:\n      formats: { \(pairs) }\n"
    }

    @Test func aWrongFormatIsRefusedAtStartNamingTheFileParticipantAndKind() throws {
        let ofAnotherKind = try #require(try Self.refusal(Self.formats("xinsheng", "bulletin: sc-traffic-xml")))
        #expect(ofAnotherKind.contains("xgw.yaml: participants.xinsheng.delivery.formats.bulletin"), "\(ofAnotherKind)")
        #expect(ofAnotherKind.contains("sc-traffic-xml is a format of traffic-violation"), "\(ofAnotherKind)")
        #expect(ofAnotherKind.contains("sc-bulletin-xml"), "the formats of the kind: \(ofAnotherKind)")

        let unknown = try #require(try Self.refusal(Self.formats("renshi", "traffic-violation: cq-traffic-xml")))
        #expect(unknown.contains("participants.renshi.delivery.formats.traffic-violation: no format cq-traffic-xml"), "\(unknown)")

        let kind = try #require(try Self.refusal(Self.formats("renshi", "violation: cq-traffic-json")))
        #expect(kind.contains("participants.renshi.delivery.formats.violation: no record kind violation"), "\(kind)")

        let participant = try #require(try Self.refusal(Self.formats("xinshen", "bulletin: cq-bulletin-json")))
        #expect(participant.contains("participants.xinshen: no participant xinshen"), "\(participant)")

        #expect(try Self.refusal(Self.formats("xinsheng", "bulletin: sc-bulletin-xml, enforcement-case: sc-case-json")) == nil)
    }

    @Test func unknownKeysUnderAParticipantAreRefused() throws {
        for (yaml, key) in [
            ("participants:\n  xinsheng:\n    delivery:\n      format: { bulletin: cq-bulletin-json }\n", "participants.xinsheng.delivery.format"),
            ("participants:\n  xinsheng:\n    delivry: {}\n", "participants.xinsheng.delivry"),
        ] {
            let data = try ServerProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: data) }
            let file = data.appendingPathComponent("xgw.yaml").path
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
            #expect {
                _ = try ServerConfiguration.load(file: file, environment: [:])
            } throws: { error in
                "\(error)".contains("unknown key '\(key)'") && "\(error)".contains("xgw.yaml")
            }
        }
    }
}

import Foundation
import GatewayModel
import GatewaySigning
import TestSupport
import Testing

/// Issue 16 item 1: the server refuses to sign with a revoked or expired certificate (409 naming the
/// participant and the reason, nothing stored), before and after a restart; a re-keyed participant
/// signs again without losing its queue; certificates close to expiry are reported.
/// Runs `xgw serve` and the real `xgw pki` commands as a clerk and an ops person would.
@Suite(.serialized)
struct RevocationTests {
    /// Runs `xgw ARGS…` in the repository root; returns its exit status and standard output.
    @discardableResult
    static func xgw(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let run = try TestBinary.run("xgw", arguments)
        return (run.status, run.output)
    }

    static func depth(_ client: HTTPClient, ops: String, of participant: String) async throws -> Int {
        let answer = try await client.call("GET", "/v1/ops/queues", token: ops)
        let queues = answer.json?["queues"]?.arrayValue ?? []
        let row = queues.first { $0["participant"]?.stringValue == participant }
        return row?["queued"]?.numberValue?.intValue ?? -1
    }

    /// Waits until `/healthz` reports `problem` for `participant` (the server re-reads the PKI files
    /// within a second of a change); true when it did within `eventually`'s limit.
    static func healthReports(_ client: HTTPClient, _ participant: String, _ problem: String) async throws -> Bool {
        try await eventually {
            let warnings = try await client.call("GET", "/healthz").json?["warnings"]?.arrayValue ?? []
            return warnings.contains { $0["participant"]?.stringValue == participant && $0["problem"]?.stringValue == problem }
        }
    }

    /// Waits until `body` holds: up to 90 s, since under a full parallel test run on two cores the
    /// server's once-a-second look at the PKI files may come late (five seconds were too few).
    static func eventually(_ body: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(90)
        repeat {
            if try await body() { return true }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        return false
    }

    @Test func aRevokedSubmitterIsRefusedBeforeAndAfterARestartAndSignsAgainOnceReKeyed() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let pki = data.appendingPathComponent("pki").path
        var server = try await ServerProcess.start(data: data)
        var client = HTTPClient(port: server.port)
        let tokens = server.printedTokens
        let xinsheng = try #require(tokens["xinsheng"]), renshi = try #require(tokens["renshi"]), ops = try #require(tokens["ops"])

        let first = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "rv1", count: 2))
        #expect(first.status == 200, "\(first.text)")
        #expect(try await Self.depth(client, ops: ops, of: "renshi") == 2)

        let certificate = try Certificate(file: pki + "/offices/xinsheng.cert.pem")
        #expect(try Self.xgw(["pki", "revoke", "--dir", pki, certificate.serial]).status == 0)

        // Seen within the server's re-check interval, without a restart: then refused with 409, the
        // reason, the participant and the serial.
        #expect(try await Self.healthReports(client, "xinsheng", "revoked-certificate"))
        let refused = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "rv2", count: 3))
        #expect(refused.status == 409, "\(refused.text)")
        let error = try #require(refused.json?["error"])
        #expect(error["code"]?.stringValue == "revoked-certificate")
        #expect(error["message"]?.stringValue?.contains("xinsheng") == true)
        #expect(error["message"]?.stringValue?.contains(certificate.serial) == true)
        #expect(error["requestId"]?.stringValue?.isEmpty == false)
        // Nothing stored.
        #expect(try await Self.depth(client, ops: ops, of: "renshi") == 2)
        // Another participant is not affected.
        let fine = try await client.call(
            "POST", "/v1/documents", token: renshi, body: try fixture("sc-traffic-xml/001-formats-example-gbk.xml"))
        #expect(fine.status == 200, "\(fine.text)")

        // The metrics say so too.
        let metrics = try await client.call("GET", "/metrics").text
        #expect(metrics.contains(#"xgw_certificate_usable{participant="xinsheng"} 0"#))
        #expect(metrics.contains(#"xgw_certificate_usable{participant="renshi"} 1"#))

        // After a restart, still refused.
        await server.stop()
        server = try await ServerProcess.start(data: data)
        client = HTTPClient(port: server.port)
        let again = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "rv3", count: 1))
        #expect(again.status == 409)
        #expect(again.json?["error"]?["code"]?.stringValue == "revoked-certificate")

        // Re-keyed by the alliance PKI: signs again, with the new key, and the queue is intact.
        #expect(try Self.xgw(["pki", "issue", "--dir", pki, "--force", "xinsheng"]).status == 0)
        let rekeyed = try Certificate(file: pki + "/offices/xinsheng.cert.pem")
        #expect(rekeyed.serial != certificate.serial)
        var accepted: HTTPAnswer?
        #expect(
            try await Self.eventually {
                accepted = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "rv4", count: 1))
                return accepted?.status == 200
            })
        #expect(try await Self.depth(client, ops: ops, of: "renshi") == 3)
        let lease = try await client.call("POST", "/v1/inbox/lease", token: renshi, json: ["max": 10])
        var serials: [String: String] = [:]
        for message in lease.json?["messages"]?.arrayValue ?? [] {
            let envelope = try Envelope(json: try #require(message["envelope"]))
            let der = try #require(Data(base64Encoded: envelope.signature.certificate))
            serials[envelope.recordId ?? ""] = try Certificate(der: [UInt8](der)).serial
        }
        #expect(serials.count == 3, "\(serials)")
        #expect(serials["cq-traffic:CQRV1-0"] == certificate.serial, "\(serials)")
        #expect(serials["cq-traffic:CQRV4-0"] == rekeyed.serial)
        await server.stop()
    }

    @Test func aRevokedReceiverCannotSignAReceipt() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let pki = data.appendingPathComponent("pki").path
        let server = try await ServerProcess.start(data: data)
        let client = HTTPClient(port: server.port)
        let xinsheng = try #require(server.printedTokens["xinsheng"]), renshi = try #require(server.printedTokens["renshi"])
        _ = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "rr1", count: 1))
        let lease = try await client.call("POST", "/v1/inbox/lease", token: renshi, json: ["max": 1])
        let message = try #require(lease.json?["messages"]?.arrayValue?.first)
        let serial = try Certificate(file: pki + "/offices/renshi.cert.pem").serial
        #expect(try Self.xgw(["pki", "revoke", "--dir", pki, serial]).status == 0)
        #expect(try await Self.healthReports(client, "renshi", "revoked-certificate"))
        let ack = try await client.call(
            "POST", "/v1/inbox/\(message["envelopeId"]?.stringValue ?? "")/ack", token: renshi,
            json: ["leaseToken": try #require(message["leaseToken"]), "outcome": "accepted"])
        #expect(ack.status == 409, "\(ack.text)")
        #expect(ack.json?["error"]?["code"]?.stringValue == "revoked-certificate")
        #expect(ack.json?["error"]?["message"]?.stringValue?.contains("renshi") == true)
        await server.stop()
    }

    @Test func aCertificateCloseToExpiryIsReported() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let pki = data.appendingPathComponent("pki").path
        // First start creates the PKI; then dachuan gets a certificate valid for 10 days.
        var server = try await ServerProcess.start(data: data)
        await server.stop()
        #expect(try Self.xgw(["pki", "issue", "--dir", pki, "--force", "--days", "10", "dachuan"]).status == 0)
        server = try await ServerProcess.start(data: data)
        let client = HTTPClient(port: server.port)
        let health = try await client.call("GET", "/healthz")
        let warnings = health.json?["warnings"]?.arrayValue ?? []
        let warning = try #require(warnings.first { $0["participant"]?.stringValue == "dachuan" })
        #expect(warning["problem"]?.stringValue == "expires-soon")
        #expect(warning["daysLeft"]?.numberValue?.intValue == 9)
        #expect(warnings.count == 1, "only dachuan: \(warnings)")
        #expect(server.log.contains("a signing certificate needs attention"))
        let metrics = try await client.call("GET", "/metrics").text
        #expect(metrics.contains(#"xgw_certificate_expiry_seconds{participant="dachuan"}"#))
        await server.stop()
    }
}

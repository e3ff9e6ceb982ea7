import Foundation
import GatewaySigning
import TestSupport
import Testing

/// Issue 16 item 15: a second `xgw serve` on the same SQLite data folder is refused (exit 78,
/// naming the folder) while the first runs, and starts once it has stopped; SIGHUP in one-node
/// mode no longer kills the server but re-reads the CRL at once and logs so.
@Suite(.serialized)
struct ServeLockAndHangupTests {
    @Test func aSecondServerOnTheSameSQLiteFolderIsRefusedUntilTheFirstStops() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try await ServerProcess.start(data: data)
        // Under `timeout`: a second server that is not refused would run on (exit 124 then).
        let second = try TestBinary.runCommand(
            "/usr/bin/timeout", ["20", try TestBinary.url("xgw").path, "serve"], environment: ["XGW_DATA": data.path, "XGW_PORT": "0"])
        #expect(second.status == 78, "\(second.output)\n\(second.error)")
        #expect(second.error.contains(data.path), "\(second.error)")
        #expect(second.error.contains("in use by another xgw serve"), "\(second.error)")
        #expect(second.error.contains("process \(first.process.processIdentifier)"), "\(second.error)")
        #expect(!second.output.contains("listening on"))
        // The first is untouched.
        #expect(try await HTTPClient(port: first.port).call("GET", "/healthz").status == 200)
        #expect(await first.stop() == 0)
        // Released with the process: the folder serves again.
        let third = try await ServerProcess.start(data: data)
        #expect(try await HTTPClient(port: third.port).call("GET", "/readyz").status == 200)
        #expect(await third.stop() == 0)
    }

    /// Whether a line of `server`'s log satisfies `matches` within 90 s (generous: a full parallel
    /// test run on two cores).
    static func logged(_ server: ServerProcess, _ matches: (Substring) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(90)
        repeat {
            if server.log.split(separator: "\n").contains(where: matches) { return true }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline && server.process.isRunning
        return server.log.split(separator: "\n").contains(where: matches)
    }

    @Test func sighupInOneNodeModeReReadsTheCRLAndKeepsServing() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try await ServerProcess.start(data: data)
        defer { server.killNow() }
        let client = HTTPClient(port: server.port)
        let xinsheng = try #require(server.printedTokens["xinsheng"])

        kill(server.process.processIdentifier, SIGHUP)
        // Polled, not a fixed pause: on a loaded machine the reload may take longer than half a second.
        #expect(try await Self.logged(server) { $0.contains("SIGHUP: re-read the CRL") }, "\(server.log.suffix(2000))")
        #expect(try await Self.logged(server) { $0.contains("SIGHUP: reloaded the mappings and routes") }, "\(server.log.suffix(2000))")
        #expect(server.process.isRunning, "SIGHUP stopped the server: \(server.log.suffix(2000))")
        #expect(try await client.call("GET", "/healthz").status == 200)

        // Revoke xinsheng, then SIGHUP: the log names it at once, and it may no longer sign.
        let certificate = try Certificate(file: data.path + "/pki/offices/xinsheng.cert.pem")
        let revoke = try TestBinary.run("xgw", ["pki", "revoke", "--dir", data.path + "/pki", certificate.serial])
        #expect(revoke.status == 0, "\(revoke.error)")
        kill(server.process.processIdentifier, SIGHUP)
        let named = try await Self.logged(server) { line in line.contains("SIGHUP") && line.contains("unusableCertificates=xinsheng") }
        #expect(named, "\(server.log.suffix(2000))")
        #expect(server.process.isRunning)
        let refused = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "hup", count: 1))
        #expect(refused.status == 409, "\(refused.text)")
    }
}

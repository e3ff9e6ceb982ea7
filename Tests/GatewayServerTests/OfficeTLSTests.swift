import Foundation
import Testing
import TestSupport

/// The office API over TLS (issue 13 item 6): offices reach their node across a network.
@Suite struct OfficeTLSTests {
    @Test func theOfficeAPIAnswersOverTLSAndNotInClear() async throws {
        let folder = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let office = try OfficeCertificate(in: folder, commonName: "renshi-gw.example")
        let (key, certificate, config) = (office.key, office.certificate, office.config)
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let server = try await ServerProcess.start(data: data, arguments: ["--config", config])
        defer { server.killNow() }
        #expect(server.stdout.contains("listening on https://"))

        let secure = try TestBinary.runCommand(
            "/usr/bin/curl", ["-sS", "--cacert", certificate, "-o", "-", "-w", "\n%{http_code}", "https://127.0.0.1:\(server.port)/healthz"])
        #expect(secure.output.hasSuffix("\n200"), "\(secure.output) \(secure.error)")
        #expect(secure.output.contains("\"status\":\"ok\""))

        // In clear, the TLS listener answers nothing an HTTP client can read.
        let clear = try TestBinary.runCommand(
            "/usr/bin/curl", ["-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/healthz"])
        #expect(clear.output != "200", "\(clear.output)")

        // An unknown key under tls: is refused at start, naming it.
        try "tls:\n  certificate: \(certificate)\n  key: \(key)\n  ciphers: all\n".write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try TestBinary.run("xgw", ["serve", "--config", config], environment: ["XGW_DATA": data.path, "XGW_PORT": "0"])
        #expect(refused.status == 78, "\(refused.output) \(refused.error)")
        #expect(refused.error.contains("tls.ciphers"), "\(refused.error)")
    }
}

import Foundation
import Testing
import TestSupport

/// A certificate for 127.0.0.1 made by openssl itself (the server reads what any CA would give
/// it) and a `serve.yaml` whose `tls:` names it: the office API over TLS, for the tests.
struct OfficeCertificate {
    let certificate: String
    let key: String
    let config: String

    init(in folder: URL, commonName: String) throws {
        key = folder.appendingPathComponent("office.key.pem").path
        certificate = folder.appendingPathComponent("office.cert.pem").path
        let made = try TestBinary.runCommand(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", certificate,
             "-days", "2", "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(made.status == 0, "\(made.error)")
        config = folder.appendingPathComponent("serve.yaml").path
        try "tls:\n  certificate: \(certificate)\n  key: \(key)\n".write(toFile: config, atomically: true, encoding: .utf8)
    }
}

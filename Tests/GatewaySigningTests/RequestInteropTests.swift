import Foundation
import Testing
@testable import GatewaySigning

/// Requests and node certificates against the `openssl` command line, in both directions:
/// `openssl req -verify` accepts xgw's requests, `xgw pki sign-request` accepts requests made by
/// `openssl req -new`, `openssl verify` and `openssl x509 -text` accept and show node certificates.
@Suite struct RequestInteropTests {
    static let distid = "distid:1234567812345678"

    /// Whether `openssl req -verify` accepts a request file (SM2 with `-vfyopt distid:…`). OpenSSL
    /// 3.0's `req` exits 0 either way, so its verdict is read from the output.
    func opensslVerifies(_ path: String, _ algorithm: SignatureAlgorithm, distid: String = distid) throws -> Bool {
        let result = try TestSupport.openssl(
            ["req", "-verify", "-noout", "-in", path] + (algorithm == .sm2sm3 ? ["-vfyopt", distid] : []))
        let accepted = result.output.contains("self-signature verify OK")
        let refused = result.output.contains("self-signature verify failure") || result.output.contains("did not verify")
        #expect(accepted != refused, "\(result.output)")
        return accepted && result.status == 0
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func opensslVerifiesXGWOfficeRequests(_ algorithm: SignatureAlgorithm) throws {
        let node = PKIDirectory(path: try TestSupport.temporaryDirectory().appendingPathComponent("node").path)
        try node.request(officeID: "xinsheng", algorithm: algorithm)
        #expect(try opensslVerifies(node.officeRequestPath("xinsheng"), algorithm))
        let text = try TestSupport.openssl(["req", "-in", node.officeRequestPath("xinsheng"), "-noout", "-text"]).output
        #expect(text.contains("Subject: CN = xinsheng") && text.contains("URI:urn:xgw:office:xinsheng"), "\(text)")

        // The same request altered after signing fails openssl's check too.
        let request = try CertificateRequest(file: node.officeRequestPath("xinsheng"))
        let subject = try #require(request.der.firstRange(of: Array("xinsheng".utf8)))
        var altered = request.der
        altered[subject.upperBound - 1] = UInt8(ascii: "h")
        let alteredPath = node.path + "/altered.csr.pem"
        try FileBytes.write(try CertificateRequest(der: altered).pem(), to: alteredPath)
        #expect(try !opensslVerifies(alteredPath, algorithm))
    }

    /// SM2 requests are signed with the distinguishing ID itself: openssl with another ID refuses them.
    @Test func xgwSM2RequestsCarryTheDistinguishingID() throws {
        let node = PKIDirectory(path: try TestSupport.temporaryDirectory().appendingPathComponent("node").path)
        try node.request(officeID: "xinsheng", algorithm: .sm2sm3)
        #expect(try opensslVerifies(node.officeRequestPath("xinsheng"), .sm2sm3))
        #expect(try !opensslVerifies(node.officeRequestPath("xinsheng"), .sm2sm3, distid: "distid:0000000000000000"))
    }

    @Test func opensslVerifiesXGWNodeRequests() throws {
        let node = PKIDirectory(path: try TestSupport.temporaryDirectory().appendingPathComponent("node").path)
        try node.requestNode(nodeID: "renshi-node", names: SubjectAltNames(parsing: "DNS:renshi-gw.example,IP:192.0.2.10"))
        #expect(try opensslVerifies(node.nodeRequestPath("renshi-node"), .es256))
        let text = try TestSupport.openssl(["req", "-in", node.nodeRequestPath("renshi-node"), "-noout", "-text"]).output
        #expect(text.contains("URI:urn:xgw:node:renshi-node, DNS:renshi-gw.example, IP Address:192.0.2.10"), "\(text)")
        #expect(text.contains("ASN1 OID: prime256v1"), "\(text)")
    }

    /// `openssl genpkey` + `openssl req -new`, as an organisation without xgw would make a request.
    func opensslRequest(
        _ algorithm: SignatureAlgorithm, subject: String, san: String, in directory: URL, named fileName: String,
        sigopt: String = distid
    ) throws -> (request: String, key: String) {
        let key = directory.appendingPathComponent(fileName + ".key.pem").path
        let generate: [String] = switch algorithm {
        case .sm2sm3: ["genpkey", "-algorithm", "SM2"]
        case .es256: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        case .ed25519: ["genpkey", "-algorithm", "ED25519"]
        }
        let generated = try TestSupport.openssl(generate + ["-out", key])
        #expect(generated.status == 0, "\(generated.output)")
        let request = directory.appendingPathComponent(fileName + ".csr.pem").path
        let digest: [String] = switch algorithm {
        case .sm2sm3: ["-sm3", "-sigopt", sigopt]
        case .es256: ["-sha256"]
        case .ed25519: []
        }
        let made = try TestSupport.openssl(
            ["req", "-new", "-key", key, "-subj", subject, "-addext", "subjectAltName=" + san, "-out", request] + digest)
        #expect(made.status == 0, "\(made.output)")
        return (request, key)
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func signRequestAcceptsOfficeRequestsMadeByOpenSSL(_ algorithm: SignatureAlgorithm) throws {
        let alliance = try TestSupport.alliance()
        let inbox = try TestSupport.temporaryDirectory()
        let (request, key) = try opensslRequest(
            algorithm, subject: "/CN=renshi", san: "URI:urn:xgw:office:renshi", in: inbox, named: "renshi")
        let signed = try alliance.signRequest(file: request, days: 365, participantName: TestSupport.participantName)
        #expect(signed.kind == .office && signed.id == "renshi" && signed.certificate.algorithm == algorithm)
        #expect(try PrivateKey(file: key).publicKey.matches(signed.certificate.publicKey))
        // The certificate and the openssl key sign envelopes the alliance root accepts.
        let signer = try Signer(keyFile: key, certificateFile: signed.certificatePath)
        let envelope = try Envelope.seal(record: TestSupport.record, from: "renshi", to: ["xinsheng"], signer: signer)
        #expect(TestSupport.code(envelope.verify(trust: try alliance.trustStore())) == nil)
        // The alliance root is SM2: its signature on the certificate needs the distinguishing ID.
        let verified = try TestSupport.openssl(
            ["verify", "-CAfile", alliance.caCertificatePath, "-vfyopt", Self.distid, signed.certificatePath])
        #expect(verified.status == 0, "\(verified.output)")
    }

    /// An SM2 request signed under another distinguishing ID does not verify with the one
    /// envelope.md prescribes: refused.
    @Test func signRequestRefusesAnSM2RequestSignedWithAnotherDistinguishingID() throws {
        let alliance = try TestSupport.alliance()
        let inbox = try TestSupport.temporaryDirectory()
        let (request, _) = try opensslRequest(
            .sm2sm3, subject: "/CN=renshi", san: "URI:urn:xgw:office:renshi", in: inbox, named: "renshi", sigopt: "distid:0000000000000000")
        #expect(try opensslVerifies(request, .sm2sm3, distid: "distid:0000000000000000"))
        let error = #expect(throws: SigningError.self) {
            try alliance.signRequest(file: request, days: 365, participantName: TestSupport.participantName)
        }
        #expect(error?.message.contains("its self-signature does not verify") == true)
    }

    @Test func signRequestAcceptsNodeRequestsMadeByOpenSSL() throws {
        let alliance = try TestSupport.alliance()
        let inbox = try TestSupport.temporaryDirectory()
        let (request, key) = try opensslRequest(
            .es256, subject: "/CN=xinsheng-node", san: "URI:urn:xgw:node:xinsheng-node,DNS:xinsheng-gw.example,IP:192.0.2.20",
            in: inbox, named: "xinsheng-node")
        let signed = try alliance.signRequest(file: request, days: 365, participantName: TestSupport.participantName)
        #expect(signed.kind == .node && signed.id == "xinsheng-node")
        #expect(signed.certificate.dnsNames == ["xinsheng-gw.example"] && signed.certificate.ipAddresses == ["192.0.2.20"])
        #expect(try PrivateKey(file: key).publicKey.matches(signed.certificate.publicKey))
        try expectOpenSSLAcceptsNodeCertificate(signed.certificatePath, alliance, node: "xinsheng-node", dns: "xinsheng-gw.example", ip: "192.0.2.20")
    }

    @Test func opensslAcceptsIssuedNodeCertificates() throws {
        let alliance = try TestSupport.alliance()
        try alliance.issueNode(nodeID: "renshi-node", names: SubjectAltNames(parsing: "DNS:renshi-gw.example,IP:192.0.2.10"), days: 365)
        try expectOpenSSLAcceptsNodeCertificate(
            alliance.nodeCertificatePath("renshi-node"), alliance, node: "renshi-node", dns: "renshi-gw.example", ip: "192.0.2.10")
    }

    /// `openssl verify` against the TLS root (not the signing root), the SANs and usages in
    /// `openssl x509 -text`, and revocation through `tls-crl.pem` (`-crl_check`).
    func expectOpenSSLAcceptsNodeCertificate(_ path: String, _ alliance: PKIDirectory, node: String, dns: String, ip: String) throws {
        let verified = try TestSupport.openssl(["verify", "-CAfile", alliance.tlsCACertificatePath, path])
        #expect(verified.status == 0 && verified.output.contains(": OK"), "\(verified.output)")
        let crlChecked = try TestSupport.openssl(
            ["verify", "-crl_check", "-CAfile", alliance.tlsCACertificatePath, "-CRLfile", alliance.tlsCRLPath, path])
        #expect(crlChecked.status == 0, "\(crlChecked.output)")
        let wrongRoot = try TestSupport.openssl(
            ["verify", "-CAfile", alliance.caCertificatePath, "-vfyopt", Self.distid, path])
        #expect(wrongRoot.status != 0, "\(wrongRoot.output)")
        let purpose = try TestSupport.openssl(["verify", "-purpose", "sslserver", "-CAfile", alliance.tlsCACertificatePath, path])
        let clientPurpose = try TestSupport.openssl(["verify", "-purpose", "sslclient", "-CAfile", alliance.tlsCACertificatePath, path])
        #expect(purpose.status == 0 && clientPurpose.status == 0, "\(purpose.output) \(clientPurpose.output)")

        let text = try TestSupport.openssl(["x509", "-in", path, "-noout", "-text"]).output
        #expect(text.contains("URI:urn:xgw:node:\(node), DNS:\(dns), IP Address:\(ip)"), "\(text)")
        #expect(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"), "\(text)")
        #expect(text.contains("X509v3 Key Usage: critical\n                Digital Signature\n"), "\(text)")
        #expect(text.contains("Public Key Algorithm: id-ecPublicKey") && text.contains("NIST CURVE: P-256"), "\(text)")
        #expect(text.contains("CA:FALSE"), "\(text)")

        let serial = try Certificate(file: path).serial
        try alliance.revoke(serial: serial)
        let revoked = try TestSupport.openssl(
            ["verify", "-crl_check", "-CAfile", alliance.tlsCACertificatePath, "-CRLfile", alliance.tlsCRLPath, path])
        #expect(revoked.status != 0 && revoked.output.contains("certificate revoked"), "\(revoked.output)")
    }
}

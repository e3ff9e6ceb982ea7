import Foundation
import Testing
@testable import GatewaySigning

/// The TLS root beside the signing root, node certificates, keys and requests made on a node, and
/// revocation on both roots (federation.md, "Certificates").
@Suite struct NodeCertificateTests {
    func mode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    @Test(arguments: SignatureAlgorithm.allCases)
    func initCreatesBothRoots(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.alliance(algorithm)
        #expect(try mode(pki.caKeyPath) == 0o600 && mode(pki.tlsCAKeyPath) == 0o600)
        let signing = try pki.authority(.signing)
        let tls = try pki.authority(.tls)
        #expect(signing.certificate.algorithm == algorithm && signing.certificate.isCA)
        #expect(tls.certificate.algorithm == .es256 && tls.certificate.isCA)
        #expect(tls.certificate.commonName == "川渝联合执法联盟 TLS 根证书" && tls.certificate.serial != signing.certificate.serial)
        #expect(try Certificate(file: pki.tlsCACertificatePath).der == tls.certificate.der)
        let crl = try pki.revocationList(.signing)
        let tlsCRL = try pki.revocationList(.tls)
        #expect(crl.revokedSerials.isEmpty && crl.number == 1 && tlsCRL.revokedSerials.isEmpty && tlsCRL.number == 1)
        #expect(crl.isSigned(by: signing.certificate) && !crl.isSigned(by: tls.certificate))
        #expect(tlsCRL.isSigned(by: tls.certificate) && !tlsCRL.isSigned(by: signing.certificate))
        #expect(try pki.issued().filter(\.isCA).count == 2)
        #expect(try pki.tlsTrustStore().roots.map(\.der) == [tls.certificate.der])

        // Neither root is replaced without force, and a refusal writes nothing.
        let before = try FileBytes.read(pki.tlsCACertificatePath)
        #expect(throws: SigningError.self) {
            try PKIDirectory.initialize(at: pki.path, algorithm: algorithm, commonName: "again", days: 1, tlsCommonName: "again")
        }
        #expect(throws: SigningError.self) { try pki.initializeTLS(commonName: "again", days: 1) }
        #expect(try FileBytes.read(pki.tlsCACertificatePath) == before)
        #expect(try pki.authority().certificate.der == signing.certificate.der)
    }

    /// A folder made before the TLS root (one root, as `xgw serve` still makes it) gets one added;
    /// the signing root, its CRL and its certificates stay as they were.
    @Test func initTLSAddsTheTLSRootToAnOldFolder() throws {
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("pki").path
        try PKIDirectory.initialize(at: path, algorithm: .sm2sm3, commonName: "川渝联合执法联盟根证书", days: 3650)
        let pki = PKIDirectory(path: path)
        #expect(!exists(pki.tlsCAKeyPath) && !exists(pki.tlsCACertificatePath) && !exists(pki.tlsCRLPath))
        let office = try pki.issue(officeID: "xinsheng", commonName: "新盛镇川渝联合执法办公室", algorithm: .sm2sm3, days: 365)
        let noRoot = #expect(throws: SigningError.self) {
            try pki.issueNode(nodeID: "renshi-node", names: SubjectAltNames(dnsNames: ["renshi-gw.example"]), days: 365)
        }
        #expect(noRoot?.message.contains("run xgw pki init-tls first") == true)
        let root = try FileBytes.read(pki.caCertificatePath)
        let crl = try FileBytes.read(pki.crlPath)

        let tls = try pki.initializeTLS(commonName: "川渝联合执法联盟 TLS 根证书", days: 3650)
        #expect(tls.certificate.algorithm == .es256 && tls.certificate.isCA)
        #expect(try mode(pki.tlsCAKeyPath) == 0o600 && exists(pki.tlsCRLPath))
        #expect(try FileBytes.read(pki.caCertificatePath) == root && FileBytes.read(pki.crlPath) == crl)
        let signer = try Signer(keyFile: pki.officeKeyPath("xinsheng"), certificateFile: pki.officeCertificatePath("xinsheng"))
        let envelope = try Envelope.seal(record: TestSupport.record, from: "xinsheng", to: ["renshi"], signer: signer)
        #expect(TestSupport.code(envelope.verify(trust: try pki.trustStore())) == nil && signer.certificate.serial == office.serial)
        let node = try pki.issueNode(nodeID: "renshi-node", names: SubjectAltNames(dnsNames: ["renshi-gw.example"]), days: 365)
        #expect(node.isSigned(by: tls.certificate))

        #expect(throws: SigningError.self) { try pki.initializeTLS(commonName: "again", days: 1) }
        let replaced = try pki.initializeTLS(commonName: "replaced", days: 1, force: true)
        #expect(try replaced.certificate.serial != tls.certificate.serial && FileBytes.read(pki.caCertificatePath) == root)
    }

    @Test func issueNodeWritesAP256KeyAndANodeCertificate() throws {
        let pki = try TestSupport.alliance()
        let names = try SubjectAltNames(parsing: "DNS:renshi-gw.example, IP:127.0.0.1,ip:::1")
        #expect(names == SubjectAltNames(dnsNames: ["renshi-gw.example"], ipAddresses: ["127.0.0.1", "::1"]))
        let certificate = try pki.issueNode(nodeID: "renshi-node", names: names, days: 90)
        #expect(try mode(pki.nodeKeyPath("renshi-node")) == 0o600 && mode(pki.nodeCertificatePath("renshi-node")) == 0o644)
        let key = try PrivateKey(file: pki.nodeKeyPath("renshi-node"))
        #expect(try key.algorithm == .es256 && key.publicKey.matches(certificate.publicKey))
        #expect(try Certificate(file: pki.nodeCertificatePath("renshi-node")).der == certificate.der)
        #expect(exists(pki.issuedDirectory + "/\(certificate.serial).cert.pem"))
        #expect(certificate.uris == ["urn:xgw:node:renshi-node"] && certificate.nodeIDs == ["renshi-node"])
        #expect(certificate.dnsNames == ["renshi-gw.example"] && certificate.ipAddresses == ["127.0.0.1", "::1"])
        #expect(certificate.allowsTLSServerAndClient && certificate.allowsDigitalSignature && !certificate.isCA)
        #expect(certificate.keyId == Hex.encode(Digest.compute(.sha256, certificate.der)))
        #expect(abs(certificate.notAfter.timeIntervalSinceNow - 90 * 86_400) < 120)
        // An office certificate is no node certificate.
        let office = try pki.issue(officeID: "xinsheng", commonName: "新盛镇", algorithm: .es256, days: 1)
        #expect(office.nodeIDs.isEmpty && office.dnsNames.isEmpty && !office.allowsTLSServerAndClient)

        #expect(throws: SigningError.self) { try pki.issueNode(nodeID: "renshi-node", names: names, days: 1) }
        #expect(try pki.issueNode(nodeID: "renshi-node", names: names, days: 1, force: true).serial != certificate.serial)
        #expect(throws: SigningError.self) { try pki.issueNode(nodeID: "Bad,URI:x", names: names, days: 1) }
        #expect(throws: SigningError.self) {
            try pki.issueNode(nodeID: "n", names: SubjectAltNames(uris: ["urn:xgw:node:other"]), days: 1)
        }
        #expect(throws: SigningError.self) {
            try pki.authority(.tls).issueNode(
                nodeID: "n", names: SubjectAltNames(), subjectKey: try PrivateKey.generate(.sm2sm3).publicKey, notAfter: Date())
        }
    }

    @Test(arguments: ["URI:urn:xgw:node:x", "DNS:a,b", "DNS:bad_name", "DNS:-a.example", "DNS:*.example", "IP:300.1.1.1", "email:a@b", "", "DNS:"])
    func sanOptionsThatAreNotDNSNamesOrIPAddressesAreRefused(_ text: String) throws {
        let error = #expect(throws: SigningError.self) { try SubjectAltNames(parsing: text) }
        #expect(error?.code == .pki && error?.message.contains("subjectAltName") == true)
    }

    @Test func revokingANodeCertificateWritesTheTLSCRLOnly() throws {
        let pki = try TestSupport.alliance()
        let office = try pki.issue(officeID: "xinsheng", commonName: "新盛镇", algorithm: .sm2sm3, days: 365)
        let node = try pki.issueNode(nodeID: "renshi-node", names: SubjectAltNames(ipAddresses: ["127.0.0.1"]), days: 365)
        #expect(TestSupport.code(try pki.tlsTrustStore().validate(base64Certificate: Data(node.der).base64EncodedString(), at: Date())) == nil)

        let (root, tlsCRL) = try pki.revokeCertificate(serial: node.serial.uppercased())
        #expect(root == .tls && tlsCRL.revokedSerials == [node.serial] && tlsCRL.number == 2)
        #expect(try pki.revocationList(.tls).revokedSerials == [node.serial])
        #expect(try pki.revocationList(.signing).revokedSerials.isEmpty && pki.revocationList(.signing).number == 1)
        #expect(TestSupport.code(try pki.tlsTrustStore().validate(base64Certificate: Data(node.der).base64EncodedString(), at: Date()))
            == .revokedCertificate)
        #expect(TestSupport.code(try pki.trustStore().validate(base64Certificate: Data(office.der).base64EncodedString(), at: Date())) == nil)

        let (officeRoot, crl) = try pki.revokeCertificate(serial: office.serial)
        #expect(officeRoot == .signing && crl.revokedSerials == [office.serial])
        #expect(try pki.revocationList(.tls).revokedSerials == [node.serial])

        let tlsRoot = try pki.authority(.tls).certificate
        let selfRevocation = #expect(throws: SigningError.self) { try pki.revoke(serial: tlsRoot.serial) }
        #expect(selfRevocation?.message == "the TLS root cannot revoke itself")
        let refreshed = try pki.refreshCRL(.tls)
        #expect(refreshed.number == 3 && refreshed.revokedSerials == [node.serial] && refreshed.isSigned(by: tlsRoot))
        #expect(try pki.revocationList(.signing).number == 2)
    }

    /// On a node: the key and the request, nothing of the alliance.
    @Test func requestsOnANodeWriteTheKeyAndTheRequestOnly() throws {
        let node = PKIDirectory(path: try TestSupport.temporaryDirectory().appendingPathComponent("node-pki").path)
        let request = try node.request(officeID: "renshi", algorithm: .sm2sm3)
        #expect(try mode(node.officeKeyPath("renshi")) == 0o600 && mode(node.officeRequestPath("renshi")) == 0o644)
        #expect(try PrivateKey(file: node.officeKeyPath("renshi")).publicKey.matches(request.publicKey))
        #expect(try CertificateRequest(file: node.officeRequestPath("renshi")).der == request.der)
        let nodeRequest = try node.requestNode(nodeID: "renshi-node", names: SubjectAltNames(dnsNames: ["renshi-gw.example"]))
        #expect(nodeRequest.algorithm == .es256 && nodeRequest.commonName == "renshi-node")
        #expect(nodeRequest.alternativeNames == SubjectAltNames(uris: ["urn:xgw:node:renshi-node"], dnsNames: ["renshi-gw.example"]))
        let files = try FileManager.default.subpathsOfDirectory(atPath: node.path).sorted()
        #expect(files == [
            "nodes", "nodes/renshi-node.csr.pem", "nodes/renshi-node.key.pem", "offices", "offices/renshi.csr.pem", "offices/renshi.key.pem",
        ])

        let key = try FileBytes.read(node.officeKeyPath("renshi"))
        #expect(throws: SigningError.self) { try node.request(officeID: "renshi", algorithm: .es256) }
        #expect(try FileBytes.read(node.officeKeyPath("renshi")) == key)
        #expect(try node.request(officeID: "renshi", algorithm: .es256, force: true).algorithm == .es256)
        #expect(throws: SigningError.self) {
            try node.requestNode(nodeID: "n", names: SubjectAltNames(uris: ["urn:xgw:office:renshi"]))
        }
        #expect(throws: SigningError.self) { try node.request(officeID: "bad id", algorithm: .sm2sm3) }
    }
}

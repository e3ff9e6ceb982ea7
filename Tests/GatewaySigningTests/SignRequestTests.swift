import Foundation
import Testing
@testable import GatewaySigning

/// `xgw pki sign-request` (`PKIDirectory.signRequest`): a request made on a node is issued from the
/// right root, and every request federation.md forbids is refused with its reason, nothing written.
@Suite struct SignRequestTests {
    @Test(arguments: SignatureAlgorithm.allCases)
    func officeRequestsAreIssuedFromTheSigningRoot(_ algorithm: SignatureAlgorithm) throws {
        let alliance = try TestSupport.alliance()
        let node = PKIDirectory(path: try TestSupport.temporaryDirectory().appendingPathComponent("node").path)
        let request = try node.request(officeID: "xinsheng", algorithm: algorithm)
        #expect(request.commonName == "xinsheng" && request.alternativeNames == SubjectAltNames(uris: ["urn:xgw:office:xinsheng"]))
        #expect(request.algorithm == algorithm && request.isSelfSignatureValid)

        // Only the request travels.
        let inbox = try TestSupport.temporaryDirectory()
        let path = try TestSupport.write(try CertificateRequest(file: node.officeRequestPath("xinsheng")), as: "xinsheng.csr.pem", in: inbox)
        let signed = try alliance.signRequest(file: path, days: 30, participantName: TestSupport.participantName)
        #expect(signed.kind == .office && signed.id == "xinsheng")
        #expect(signed.certificatePath == inbox.appendingPathComponent("xinsheng.cert.pem").path)
        let certificate = try Certificate(file: signed.certificatePath)
        #expect(certificate.der == signed.certificate.der)
        #expect(FileManager.default.fileExists(atPath: alliance.issuedDirectory + "/\(certificate.serial).cert.pem"))
        #expect(certificate.officeIDs == ["xinsheng"] && certificate.commonName == "新盛镇川渝联合执法办公室")
        #expect(certificate.algorithm == algorithm && certificate.allowsDigitalSignature && !certificate.isCA)
        #expect(abs(certificate.notAfter.timeIntervalSinceNow - 30 * 86_400) < 120)
        #expect(try alliance.issuingRoot(of: certificate) == .signing)
        #expect(!certificate.isSigned(by: try alliance.authority(.tls).certificate))
        #expect(!FileManager.default.fileExists(atPath: alliance.officeKeyPath("xinsheng")))

        // Back on the node, the key that never left signs envelopes the alliance root accepts.
        try FileBytes.write(try certificate.pem(), to: node.officeCertificatePath("xinsheng"))
        let signer = try Signer(keyFile: node.officeKeyPath("xinsheng"), certificateFile: node.officeCertificatePath("xinsheng"))
        let envelope = try Envelope.seal(record: TestSupport.record, from: "xinsheng", to: ["renshi"], signer: signer)
        #expect(TestSupport.code(envelope.verify(trust: try alliance.trustStore())) == nil)
    }

    @Test func nodeRequestsAreIssuedFromTheTLSRoot() throws {
        let alliance = try TestSupport.alliance()
        let node = PKIDirectory(path: try TestSupport.temporaryDirectory().appendingPathComponent("node").path)
        try node.requestNode(nodeID: "renshi-node", names: SubjectAltNames(parsing: "DNS:Renshi-GW.example,IP:192.0.2.10,IP:2001:DB8::1"))
        #expect(try FileManager.default.attributesOfItem(atPath: node.nodeKeyPath("renshi-node"))[.posixPermissions] as? Int == 0o600)
        #expect(try PrivateKey(file: node.nodeKeyPath("renshi-node")).algorithm == .es256)
        let signed = try alliance.signRequest(
            file: node.nodeRequestPath("renshi-node"), days: 365, participantName: TestSupport.participantName)
        #expect(signed.kind == .node && signed.id == "renshi-node")
        #expect(signed.certificatePath == node.nodeCertificatePath("renshi-node"))
        let certificate = try Certificate(file: node.nodeCertificatePath("renshi-node"))
        #expect(certificate.nodeIDs == ["renshi-node"] && certificate.officeIDs.isEmpty && certificate.commonName == "renshi-node")
        #expect(certificate.dnsNames == ["renshi-gw.example"] && certificate.ipAddresses == ["192.0.2.10", "2001:db8::1"])
        #expect(certificate.algorithm == .es256 && certificate.allowsTLSServerAndClient && certificate.allowsDigitalSignature)
        #expect(try alliance.issuingRoot(of: certificate) == .tls)
        #expect(certificate.isSigned(by: try alliance.authority(.tls).certificate))
        #expect(!certificate.isSigned(by: try alliance.authority(.signing).certificate))
        #expect(try PrivateKey(file: node.nodeKeyPath("renshi-node")).publicKey.matches(certificate.publicKey))
        #expect(TestSupport.code(try alliance.tlsTrustStore().validate(base64Certificate: certificate.der.base64, at: Date())) == nil)
        #expect(TestSupport.code(try alliance.trustStore().validate(base64Certificate: certificate.der.base64, at: Date())) == .untrustedCertificate)
    }

    /// Each request federation.md refuses, and the reason the refusal must name.
    enum Refusal: String, CaseIterable, Sendable {
        case alteredSubject, noURI, twoURIs, foreignURI, badIDSyntax, idNotCN, idNotFileStem, unknownParticipant,
             sm2NodeKey, ed25519NodeKey, officeWithDNS, officeWithIP, nodeWithBadDNS

        var reason: String {
            switch self {
            case .alteredSubject: "its self-signature does not verify"
            case .noURI: "must hold exactly one URI, urn:xgw:office:<id> or urn:xgw:node:<id>; it holds 0"
            case .twoURIs: "must hold exactly one URI, urn:xgw:office:<id> or urn:xgw:node:<id>; it holds 2"
            case .foreignURI: "is neither urn:xgw:office:<id> nor urn:xgw:node:<id>"
            case .badIDSyntax: "is not 1-64 characters"
            case .idNotCN: "the office id xinsheng differs from the subject CN 'renshi'"
            case .idNotFileStem: "the office id xinsheng differs from the file name"
            case .unknownParticipant: "nobody is not a participant"
            case .sm2NodeKey: "a node key must be ECDSA P-256, not SM2-SM3"
            case .ed25519NodeKey: "a node key must be ECDSA P-256, not Ed25519"
            case .officeWithDNS: "an office request must have no subjectAltName but its URI; it also holds DNS:xinsheng.example"
            case .officeWithIP: "an office request must have no subjectAltName but its URI; it also holds IP:192.0.2.1"
            case .nodeWithBadDNS: "subjectAltName DNS:bad_name.example is not a host name"
            }
        }

        /// The request and the file name it arrives under.
        func request() throws -> (CertificateRequest, String) {
            func make(_ algorithm: SignatureAlgorithm, _ cn: String, _ names: SubjectAltNames) throws -> CertificateRequest {
                try CertificateRequest.make(key: try PrivateKey.generate(algorithm), commonName: cn, names: names)
            }
            let office = SubjectAltNames(uris: ["urn:xgw:office:xinsheng"])
            switch self {
            case .alteredSubject:
                // Signed for office-a, then office-a rewritten to office-b in the CN and the URI.
                let der = try make(.sm2sm3, "office-a", SubjectAltNames(uris: ["urn:xgw:office:office-a"])).der
                let (from, to) = (Array("office-a".utf8), Array("office-b".utf8))
                var altered = der
                var replaced = 0
                for index in 0...(altered.count - from.count) where Array(altered[index..<index + from.count]) == from {
                    altered.replaceSubrange(index..<index + from.count, with: to)
                    replaced += 1
                }
                guard replaced == 2 else { throw SigningError(.invalidInput, "expected the id twice in the request, found \(replaced)") }
                return (try CertificateRequest(der: altered), "office-b.csr.pem")
            case .noURI: return (try make(.sm2sm3, "xinsheng", SubjectAltNames()), "xinsheng.csr.pem")
            case .twoURIs:
                return (try make(.sm2sm3, "xinsheng", SubjectAltNames(uris: ["urn:xgw:office:xinsheng", "urn:xgw:office:renshi"])), "xinsheng.csr.pem")
            case .foreignURI: return (try make(.es256, "xinsheng", SubjectAltNames(uris: ["urn:example:xinsheng"])), "xinsheng.csr.pem")
            case .badIDSyntax:
                return (try make(.es256, "Xinsheng", SubjectAltNames(uris: ["urn:xgw:office:Xinsheng"])), "Xinsheng.csr.pem")
            case .idNotCN: return (try make(.sm2sm3, "renshi", office), "xinsheng.csr.pem")
            case .idNotFileStem: return (try make(.sm2sm3, "xinsheng", office), "renshi.csr.pem")
            case .unknownParticipant: return (try make(.sm2sm3, "nobody", SubjectAltNames(uris: ["urn:xgw:office:nobody"])), "nobody.csr.pem")
            case .sm2NodeKey: return (try make(.sm2sm3, "renshi-node", SubjectAltNames(uris: ["urn:xgw:node:renshi-node"])), "renshi-node.csr.pem")
            case .ed25519NodeKey:
                return (try make(.ed25519, "renshi-node", SubjectAltNames(uris: ["urn:xgw:node:renshi-node"])), "renshi-node.csr.pem")
            case .officeWithDNS:
                return (try make(.sm2sm3, "xinsheng", SubjectAltNames(uris: office.uris, dnsNames: ["xinsheng.example"])), "xinsheng.csr.pem")
            case .officeWithIP:
                return (try make(.es256, "xinsheng", SubjectAltNames(uris: office.uris, ipAddresses: ["192.0.2.1"])), "xinsheng.csr.pem")
            case .nodeWithBadDNS:
                let names = SubjectAltNames(uris: ["urn:xgw:node:renshi-node"], dnsNames: ["bad_name.example"])
                return (try make(.es256, "renshi-node", names), "renshi-node.csr.pem")
            }
        }
    }

    @Test(arguments: Refusal.allCases)
    func refusedRequestsNameTheirReasonAndWriteNothing(_ refusal: Refusal) throws {
        let alliance = try TestSupport.alliance()
        let inbox = try TestSupport.temporaryDirectory()
        let (request, fileName) = try refusal.request()
        let path = try TestSupport.write(request, as: fileName, in: inbox)
        let issuedBefore = TestSupport.issuedCount(alliance)
        let error = #expect(throws: SigningError.self) {
            try alliance.signRequest(file: path, days: 365, participantName: TestSupport.participantName)
        }
        #expect(error?.code == .pki)
        #expect(error?.message.contains("request \(fileName) refused: ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(refusal.reason) == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: String(path.dropLast(".csr.pem".count)) + ".cert.pem"))
        #expect(TestSupport.issuedCount(alliance) == issuedBefore)
    }

    /// The refusals can fail: the same requests, made right, are issued.
    @Test func theRequestsTheRefusalsStartFromAreIssued() throws {
        let alliance = try TestSupport.alliance()
        let inbox = try TestSupport.temporaryDirectory()
        let key = try PrivateKey.generate(.sm2sm3)
        let cases: [(String, SubjectAltNames, String)] = [
            ("office-a", SubjectAltNames(uris: ["urn:xgw:office:office-a"]), "office-a.csr.pem"),
            ("xinsheng", SubjectAltNames(uris: ["urn:xgw:office:xinsheng"]), "xinsheng.csr.pem"),
            ("renshi-node", SubjectAltNames(uris: ["urn:xgw:node:renshi-node"], dnsNames: ["good-name.example"]), "renshi-node.csr.pem"),
        ]
        for (cn, names, fileName) in cases {
            let request = try CertificateRequest.make(
                key: names.uris[0].contains(":node:") ? try PrivateKey.generate(.es256) : key, commonName: cn, names: names)
            let path = try TestSupport.write(request, as: fileName, in: inbox)
            let signed = try alliance.signRequest(file: path, days: 365, participantName: TestSupport.participantName)
            #expect(signed.id == cn)
        }
        #expect(TestSupport.issuedCount(alliance) == 2 + cases.count)
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func aRequestAlteredAfterSigningIsRefusedForEveryAlgorithm(_ algorithm: SignatureAlgorithm) throws {
        let request = try CertificateRequest.make(
            key: try PrivateKey.generate(algorithm), commonName: "office-a", names: SubjectAltNames(uris: ["urn:xgw:office:office-a"]))
        #expect(request.isSelfSignatureValid)
        let subject = try #require(request.der.firstRange(of: Array("office-a".utf8)))
        var altered = request.der
        altered[subject.upperBound - 1] = UInt8(ascii: "b")
        #expect(try !CertificateRequest(der: altered).isSelfSignatureValid)
    }
}

extension Array where Element == UInt8 {
    fileprivate var base64: String { Data(self).base64EncodedString() }
}

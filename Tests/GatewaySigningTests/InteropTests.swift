import Foundation
import GatewayModel
import Testing
@testable import GatewaySigning

/// Interoperability with the `openssl` command line, in both directions, over the JCS bytes.
@Suite struct InteropTests {
    /// The `pkeyutl` options envelope.md gives for each algorithm.
    func pkeyutlOptions(_ algorithm: SignatureAlgorithm) -> [String] {
        switch algorithm {
        case .sm2sm3: ["-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]
        case .es256: ["-digest", "sha256"]
        case .ed25519: []
        }
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func envelopesSignedByXGWVerifyWithOpenSSL(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let envelope = try pki.seal()
        let dir = try TestSupport.temporaryDirectory()
        let message = dir.appendingPathComponent("header.jcs").path
        let signature = dir.appendingPathComponent("sig").path
        let certificate = dir.appendingPathComponent("cert.pem").path
        let publicKey = dir.appendingPathComponent("pub.pem").path
        try FileBytes.write(JSONValue.object(envelope.header).canonicalBytes(), to: message)
        try FileBytes.write([UInt8](try #require(Data(base64Encoded: envelope.signature.value))), to: signature)
        try FileBytes.write(try pki.xinsheng.certificate.pem(), to: certificate)
        // The public key as openssl itself extracts it from the certificate.
        #expect(try TestSupport.openssl(["x509", "-in", certificate, "-pubkey", "-noout", "-out", publicKey]).status == 0)
        let verified = try TestSupport.openssl(
            ["pkeyutl", "-verify", "-pubin", "-inkey", publicKey, "-rawin", "-in", message, "-sigfile", signature]
                + pkeyutlOptions(algorithm))
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("Signature Verified Successfully"))
        // The payload digest is what openssl computes over the JCS payload.
        let payload = dir.appendingPathComponent("payload.jcs").path
        try FileBytes.write(envelope.payload.canonicalBytes(), to: payload)
        let digest = try TestSupport.openssl(["dgst", "-\(algorithm.payloadDigest.rawValue)", "-r", payload])
        #expect(digest.output.hasPrefix(envelope.payloadDigest?["value"]?.stringValue ?? "-"))
        // A changed message does not verify in openssl either.
        try FileBytes.write(JSONValue.object(envelope.header).canonicalBytes() + [0x20], to: message)
        let changed = try TestSupport.openssl(
            ["pkeyutl", "-verify", "-pubin", "-inkey", publicKey, "-rawin", "-in", message, "-sigfile", signature]
                + pkeyutlOptions(algorithm))
        #expect(changed.status != 0)
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func signaturesMadeByOpenSSLVerifyInXGW(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let dir = try TestSupport.temporaryDirectory()
        let keyPath = dir.appendingPathComponent("key.pem").path
        try FileBytes.writeSecret(try pki.xinsheng.key.pem(), to: keyPath)
        // A header as another office's client would build it, signed by openssl over its JCS bytes.
        var header = try pki.seal().header
        header["id"] = .string(UUIDv7.generate())
        let messagePath = dir.appendingPathComponent("header.jcs").path
        try FileBytes.write(JSONValue.object(header).canonicalBytes(), to: messagePath)
        let signaturePath = dir.appendingPathComponent("sig").path
        let signed = try TestSupport.openssl(
            ["pkeyutl", "-sign", "-inkey", keyPath, "-rawin", "-in", messagePath, "-out", signaturePath] + pkeyutlOptions(algorithm))
        #expect(signed.status == 0, "\(signed.output)")
        let signature = try FileBytes.read(signaturePath)
        #expect(try pki.xinsheng.key.publicKey.isValidSignature(signature, for: JSONValue.object(header).canonicalBytes()))
        let envelope = Envelope(
            header: header, payload: TestSupport.record,
            signature: SignatureBlock(
                alg: algorithm.rawValue, keyId: pki.xinsheng.certificate.keyId,
                certificate: pki.xinsheng.certificateBase64, value: Data(signature).base64EncodedString()))
        #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == nil)
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func keysGeneratedByOpenSSLSignEnvelopes(_ algorithm: SignatureAlgorithm) throws {
        let dir = try TestSupport.temporaryDirectory()
        let keyPath = dir.appendingPathComponent("key.pem").path
        let generate: [String] = switch algorithm {
        case .sm2sm3: ["genpkey", "-algorithm", "SM2"]
        case .es256: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        case .ed25519: ["genpkey", "-algorithm", "ED25519"]
        }
        #expect(try TestSupport.openssl(generate + ["-out", keyPath]).status == 0)
        let key = try PrivateKey(file: keyPath)
        #expect(key.algorithm == algorithm)
        let pki = try TestSupport.PKI(algorithm)
        let certificate = try pki.ca.issue(
            officeID: "xinsheng", commonName: "新盛镇", subjectKey: key.publicKey, notAfter: Date().addingTimeInterval(86_400))
        let envelope = try pki.seal(try Signer(key: key, certificate: certificate))
        #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == nil)
    }

    /// Certificates and CRLs issued by xgw, checked by `openssl verify` (SM2 needs `-vfyopt distid`).
    @Test(arguments: SignatureAlgorithm.allCases)
    func certificateChainsVerifyWithOpenSSL(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let dir = try TestSupport.temporaryDirectory()
        let caPath = dir.appendingPathComponent("ca.pem").path
        let leafPath = dir.appendingPathComponent("leaf.pem").path
        try FileBytes.write(try pki.ca.certificate.pem(), to: caPath)
        try FileBytes.write(try pki.xinsheng.certificate.pem(), to: leafPath)
        let distid = algorithm == .sm2sm3 ? ["-vfyopt", "distid:1234567812345678"] : []
        let verified = try TestSupport.openssl(["verify", "-CAfile", caPath] + distid + [leafPath])
        #expect(verified.status == 0, "\(verified.output)")
        let text = try TestSupport.openssl(["x509", "-in", leafPath, "-noout", "-text", "-nameopt", "utf8"]).output
        #expect(text.contains("URI:urn:xgw:office:xinsheng"))
        #expect(text.contains("Digital Signature"))
        #expect(text.contains("新盛镇川渝联合执法办公室"))
        if algorithm != .sm2sm3 {  // OpenSSL 3.0 cannot set an SM2 ID for CRL signatures (see CertificateRevocationList)
            let crlPath = dir.appendingPathComponent("crl.pem").path
            let crl = try pki.ca.makeCRL(
                revoked: [pki.xinsheng.certificate.serial: Date()], number: 2, nextUpdate: Date().addingTimeInterval(86_400))
            try FileBytes.write(try crl.pem(), to: crlPath)
            let revoked = try TestSupport.openssl(["verify", "-crl_check", "-CAfile", caPath, "-CRLfile", crlPath, leafPath])
            #expect(revoked.status != 0)
            #expect(revoked.output.contains("certificate revoked"))
        }
    }

    @Test func everyRootAndLeafAlgorithmCombinationChains() throws {
        for rootAlgorithm in SignatureAlgorithm.allCases {
            for leafAlgorithm in SignatureAlgorithm.allCases {
                let pki = try TestSupport.PKI(rootAlgorithm, leafAlgorithm: leafAlgorithm)
                let envelope = try pki.seal()
                #expect(envelope.signature.alg == leafAlgorithm.rawValue)
                #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == nil, "\(rootAlgorithm) root, \(leafAlgorithm) leaf")
            }
        }
    }

    @Test func privateKeysAreWrittenWithMode0600() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("k.pem").path
        FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o644])
        try FileBytes.writeSecret(try PrivateKey.generate(.sm2sm3).pem(), to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try PrivateKey(file: path).algorithm == .sm2sm3)
    }
}

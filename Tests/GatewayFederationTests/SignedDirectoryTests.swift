import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import Testing

/// The signature of the directory: the alliance signing root over the RFC 8785 bytes of the
/// `directory` member, in an envelope's signature object, accepted only from a trusted root itself.
@Suite struct SignedDirectoryTests {
    @Test(arguments: [SignatureAlgorithm.sm2sm3, .es256, .ed25519])
    func signThenVerifyRoundTripsThroughTheDocumentBytes(_ algorithm: SignatureAlgorithm) throws {
        let pki = try FederationPKI(algorithm: algorithm)
        defer { pki.remove() }
        let signed = try pki.signed(nextPin: true)
        let bytes = signed.canonicalBytes()
        let read = try SignedDirectory(bytes: bytes)
        #expect(read.canonicalBytes() == bytes)
        // Equal although the members were read in RFC 8785 order, not in the order they were built.
        #expect(read.member.keys != signed.member.keys)
        #expect(read == signed)
        #expect(try read.content() == signed.content())
        // The document is JCS: `directory` then `signature`, each member sorted.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"directory\":{\"issuedAt\":"))
        #expect(text.contains("},\"signature\":{\"alg\":\"\(algorithm.rawValue)\",\"certificate\":"))
        #expect(read.signature.keyId == pki.root.certificate.keyId)
        #expect(read.signature.certificate == Data(pki.root.certificate.der).base64EncodedString())

        let verified = read.verify(anchors: [pki.root.certificate], at: Date())
        let directory = try verified.get()
        #expect(directory.serial == 7)
        #expect(directory.node(id: "renshi-node")?.nextTlsCertificateSha256 == (try pki.pin("renshi-node-next")))
        #expect(directory.node(id: "xinsheng-node")?.tlsCertificateSha256 == (try pki.pin("xinsheng-node")))
        // The signature covers exactly the JCS of the member: the root's public key checks it directly.
        let value = try #require(Data(base64Encoded: read.signature.value))
        #expect(pki.root.certificate.publicKey.isValidSignature([UInt8](value), for: JSONValue.object(read.member).canonicalBytes()))
    }

    @Test func aDirectorySignedByAnotherRootIsRefused() throws {
        let ours = try FederationPKI()
        let theirs = try FederationPKI(rootName: "川渝 alliance root")  // same name, another key
        defer { ours.remove(); theirs.remove() }
        let signed = try theirs.signed()
        #expect(signed.verifySignature(anchors: [ours.root.certificate]).failure?.code == .untrustedCertificate)
        #expect(signed.verifySignature(anchors: [ours.root.certificate, theirs.root.certificate]).failure == nil)
        // The certificate swapped for ours, the signature still theirs.
        var swapped = SignedDirectory(member: signed.member, signature: signed.signature)
        swapped = SignedDirectory(
            member: swapped.member,
            signature: SignatureBlock(
                alg: signed.signature.alg, keyId: ours.root.certificate.keyId,
                certificate: Data(ours.root.certificate.der).base64EncodedString(), value: signed.signature.value))
        #expect(swapped.verifySignature(anchors: [ours.root.certificate]).failure?.code == .badSignature)
    }

    @Test func aCertificateThatOnlyChainsToTheRootIsNotAnAnchor() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let office = try pki.pki.issue(officeID: "renshi", commonName: "任市", algorithm: .es256, days: 30)
        let key = try PrivateKey(file: pki.pki.officeKeyPath("renshi"))
        let directory = try pki.directory()
        let signature = SignatureBlock(
            alg: "ES256", keyId: office.keyId, certificate: Data(office.der).base64EncodedString(),
            value: Data(try key.sign(directory.canonicalBytes())).base64EncodedString())
        let signed = SignedDirectory(member: directory.member, signature: signature)
        #expect(signed.verifySignature(anchors: [pki.root.certificate]).failure?.code == .untrustedCertificate)
    }

    @Test func aTamperedMemberIsRefused() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let signed = try pki.signed()
        var document = signed.json
        try document.set("https://attacker.example:8443", at: JSONPointer("/directory/nodes/1/url")!)
        let tampered = try SignedDirectory(json: document)
        #expect(tampered.verifySignature(anchors: [pki.root.certificate]).failure?.code == .badSignature)
        // Adding a member is tampering too: the signature covers every member.
        var added = signed.json
        try added.set(true, at: JSONPointer("/directory/extra")!)
        #expect(try SignedDirectory(json: added).verifySignature(anchors: [pki.root.certificate]).failure?.code == .badSignature)
        // Members outside `directory` are not signed and are ignored.
        var outside = signed.json
        try outside.set("note", at: JSONPointer("/comment")!)
        #expect(try SignedDirectory(json: outside).verifySignature(anchors: [pki.root.certificate]).failure == nil)
    }

    @Test func signatureFormsOtherThanTheRootsAreRefused() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let signed = try pki.signed()
        func with(_ change: (inout SignatureBlock) -> Void) -> VerificationFailure.Code? {
            var block = signed.signature
            change(&block)
            return SignedDirectory(member: signed.member, signature: block).verifySignature(anchors: [pki.root.certificate]).failure?.code
        }
        #expect(with { $0.alg = "RS256" } == .unsupportedAlgorithm)
        #expect(with { $0.alg = "SM2-SM3" } == .algorithmMismatch)
        #expect(with { $0.keyId = String(repeating: "0", count: 64) } == .untrustedCertificate)
        #expect(with { $0.certificate = "%%%" } == .untrustedCertificate)
        #expect(with { $0.value = "AAAA" } == .badSignature)
        #expect(with { _ in } == nil)
        // The root outside its validity period at the time of the check.
        #expect(signed.verifySignature(anchors: [pki.root.certificate], at: Date().addingTimeInterval(400 * 86_400)).failure?.code == .expiredCertificate)
    }

    @Test func aBatchSignatureOrAMissingMemberIsMalformed() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        var document = try pki.signed().json
        try document.set(["size": 1, "index": 0, "path": []], at: JSONPointer("/signature/batch")!)
        let batch = try #require(Result { () throws(DirectoryError) in try SignedDirectory(json: document) }.failure)
        #expect(batch.problems.map(\.code) == [.malformed])
        #expect(batch.problems.first?.pointer?.description == "/signature/batch")

        var unsigned = try pki.signed().json
        unsigned.removeValue(at: JSONPointer("/signature/value")!)
        unsigned.removeValue(at: JSONPointer("/directory")!)
        let missing = try #require(Result { () throws(DirectoryError) in try SignedDirectory(json: unsigned) }.failure)
        #expect(missing.problems.map { $0.pointer?.description } == ["/directory", "/signature"])

        let notJSON = try #require(Result { () throws(DirectoryError) in try SignedDirectory(bytes: Array("{\"directory\":{},\"directory\":{}}".utf8)) }.failure)
        #expect(notJSON.problems.map(\.code) == [.malformed])
        #expect(notJSON.problems.first?.message.contains("duplicate member name") == true)
    }
}

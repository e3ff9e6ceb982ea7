import Foundation
import GatewayModel
import Testing
@testable import GatewaySigning

@Suite struct EnvelopeTests {
    @Test(arguments: SignatureAlgorithm.allCases)
    func sealedEnvelopeVerifiesAfterARoundTripThroughText(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let envelope = try pki.seal()
        #expect(envelope.kind == "traffic-violation")
        #expect(envelope.recordId == "sc-traffic:510000202307110001")
        #expect(envelope.from == "xinsheng" && envelope.to == ["renshi"])
        #expect(envelope.header["version"] == 1)
        #expect(envelope.signature.alg == algorithm.rawValue)
        #expect(envelope.signature.keyId == Digest.hex(.sha256, pki.xinsheng.certificate.der))
        let digest = try #require(envelope.payloadDigest)
        #expect(digest["alg"]?.stringValue == algorithm.payloadDigest.rawValue)
        #expect(digest["value"]?.stringValue == Digest.hex(algorithm.payloadDigest, TestSupport.record.canonicalBytes()))
        #expect(envelope.createdAt?.hasSuffix("+08:00") == true)

        let text = envelope.json.canonicalBytes()
        let reread = try Envelope(json: try JSONParser.parse(text))
        #expect(reread.json.canonicalBytes() == text)
        let certificate = try reread.verify(trust: pki.trust).get()
        #expect(certificate.officeIDs == ["xinsheng"])
        #expect(certificate.commonName == "新盛镇川渝联合执法办公室")
    }

    @Test func directlyWrittenHeaderAndEnvelopeBytesAreTheJCSOfTheirValues() throws {
        let pki = try TestSupport.PKI(.ed25519)
        for to in [["renshi"], ["renshi", "kaijiang", "liangping"], []] {
            let envelope = try Envelope.seal(
                payload: TestSupport.record, kind: "kind \"quoted\" \\ \u{1}", recordId: "记录:\u{1F600}\u{E000}",
                from: "xinsheng", to: to, signer: pki.xinsheng)
            #expect(envelope.canonicalBytes() == envelope.json.canonicalBytes())
            #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == nil)
            // After a change, the cached bytes are not used any more.
            var changed = envelope
            changed.header["kind"] = "bulletin"
            #expect(changed.canonicalBytes() == changed.json.canonicalBytes())
            #expect(TestSupport.code(changed.verify(trust: pki.trust)) == .badSignature)
            var otherPayload = envelope
            otherPayload.payload = ["kind": "bulletin"]
            #expect(otherPayload.canonicalBytes() == otherPayload.json.canonicalBytes())
            #expect(TestSupport.code(otherPayload.verify(trust: pki.trust)) == .digestMismatch)
        }
    }

    /// One `Signer` and one `TrustStore` shared by many tasks: the copied EVP contexts, the random
    /// pool and the chain cache must hold up.
    @Test(arguments: SignatureAlgorithm.allCases)
    func concurrentSealingAndVerifyingWithSharedKeys(_ algorithm: SignatureAlgorithm) async throws {
        let pki = try TestSupport.PKI(algorithm)
        let results = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var ids: [String] = []
                    for _ in 0..<25 {
                        let envelope = try pki.seal()
                        let text = envelope.canonicalBytes()
                        let reread = try Envelope(json: try JSONParser.parse(text))
                        guard TestSupport.code(reread.verify(trust: pki.trust)) == nil else { return [] }
                        ids.append(envelope.id ?? "")
                    }
                    return ids
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(results.count == 200)
        #expect(Set(results).count == 200)
    }

    @Test func envelopeIDsAreUniqueUUIDv7() throws {
        let pki = try TestSupport.PKI(.ed25519)
        let ids = try (0..<50).map { _ in try pki.seal().id ?? "" }
        #expect(Set(ids).count == 50)
        #expect(ids.allSatisfy { $0.count == 36 && Array($0)[14] == "7" })
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func everySingleByteChangeIsRejectedWithItsReason(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let envelope = try pki.seal()

        // Payload: any changed byte of any value → digest-mismatch (the header still verifies).
        var payloadCases = 0
        for mutated in Mutations.of(envelope.payload) {
            var copy = envelope
            copy.payload = mutated
            #expect(TestSupport.code(copy.verify(trust: pki.trust)) == .digestMismatch)
            payloadCases += 1
        }
        #expect(payloadCases > 200)

        // Header: any changed byte → bad-signature (a version other than 1 is malformed).
        var headerCases = 0
        for member in envelope.header.members {
            for mutated in Mutations.of(member.value) {
                var copy = envelope
                copy.header[member.key] = mutated
                let expected: VerificationFailure.Code = member.key == "version" ? .malformedEnvelope : .badSignature
                #expect(TestSupport.code(copy.verify(trust: pki.trust)) == expected, "\(member.key)")
                headerCases += 1
            }
        }
        #expect(headerCases > 100)

        // Signature value: any flipped bit of any byte → bad-signature.
        let signature = [UInt8](try #require(Data(base64Encoded: envelope.signature.value)))
        for index in signature.indices {
            var bytes = signature
            bytes[index] ^= 0x01
            var copy = envelope
            copy.signature.value = Data(bytes).base64EncodedString()
            #expect(TestSupport.code(copy.verify(trust: pki.trust)) == .badSignature, "signature byte \(index)")
        }

        // Certificate: any flipped byte of the DER → untrusted-certificate.
        let der = pki.xinsheng.certificate.der
        for index in der.indices {
            var bytes = der
            bytes[index] ^= 0x01
            var copy = envelope
            copy.signature.certificate = Data(bytes).base64EncodedString()
            #expect(TestSupport.code(copy.verify(trust: pki.trust)) == .untrustedCertificate, "certificate byte \(index)")
        }

        // Key id that does not name the certificate.
        var copy = envelope
        copy.signature.keyId = String(copy.signature.keyId.reversed())
        #expect(TestSupport.code(copy.verify(trust: pki.trust)) == .untrustedCertificate)

        // The untouched envelope still verifies (the checks above did not poison the cache).
        #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == nil)
    }

    @Test func expiredAndNotYetValidCertificates() throws {
        let pki = try TestSupport.PKI(.sm2sm3)
        let now = Date()
        let expired = try TestSupport.PKI.office(
            "xinsheng", "新盛镇", .sm2sm3, pki.ca, notBefore: now.addingTimeInterval(-10 * 86_400), notAfter: now.addingTimeInterval(-86_400))
        let early = try TestSupport.PKI.office(
            "xinsheng", "新盛镇", .sm2sm3, pki.ca, notBefore: now.addingTimeInterval(86_400), notAfter: now.addingTimeInterval(10 * 86_400))
        let oldEnvelope = try pki.seal(expired)
        #expect(TestSupport.code(oldEnvelope.verify(trust: pki.trust)) == .expiredCertificate)
        #expect(TestSupport.code(oldEnvelope.verify(trust: pki.trust, at: now.addingTimeInterval(-2 * 86_400))) == nil)
        let earlyEnvelope = try pki.seal(early)
        #expect(TestSupport.code(earlyEnvelope.verify(trust: pki.trust)) == .notYetValidCertificate)
        #expect(TestSupport.code(earlyEnvelope.verify(trust: pki.trust, at: now.addingTimeInterval(2 * 86_400))) == nil)
        // The root's own validity counts too.
        #expect(TestSupport.code(try pki.seal().verify(trust: pki.trust, at: now.addingTimeInterval(3651 * 86_400))) == .expiredCertificate)
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func revokedCertificates(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let envelope = try pki.seal()
        let serial = pki.xinsheng.certificate.serial
        let crl = try pki.ca.makeCRL(revoked: [serial: Date()], number: 1, nextUpdate: Date().addingTimeInterval(86_400))
        #expect(crl.revokedSerials == [serial])
        #expect(crl.isSigned(by: pki.ca.certificate))
        let reread = try CertificateRevocationList(pem: try crl.pem())
        #expect(reread.revokedSerials == [serial])
        let withCRL = try TrustStore(roots: [pki.ca.certificate], revocationLists: [reread])
        #expect(TestSupport.code(envelope.verify(trust: withCRL)) == .revokedCertificate)
        #expect(TestSupport.code(try pki.seal(pki.renshi, from: "renshi").verify(trust: withCRL)) == nil)
        // A CRL signed by another CA is refused outright.
        let stranger = try CertificateAuthority.create(algorithm: algorithm, commonName: "冒充的根证书")
        let forged = try stranger.makeCRL(revoked: [:], number: 1, nextUpdate: Date().addingTimeInterval(86_400))
        #expect(!forged.isSigned(by: pki.ca.certificate))
        #expect(throws: SigningError.self) { try TrustStore(roots: [pki.ca.certificate], revocationLists: [forged]) }
    }

    @Test func wrongIssuerWrongSenderAndNonSigningCertificates() throws {
        let pki = try TestSupport.PKI(.es256)
        let other = try TestSupport.PKI(.es256)
        #expect(TestSupport.code(try other.seal().verify(trust: pki.trust)) == .untrustedCertificate)
        #expect(TestSupport.code(try pki.seal(pki.renshi, from: "xinsheng").verify(trust: pki.trust)) == .senderMismatch)
        let caSigner = try Signer(key: pki.ca.key, certificate: pki.ca.certificate)
        #expect(TestSupport.code(try pki.seal(caSigner).verify(trust: pki.trust)) == .untrustedCertificate)
        // Two roots in one store: each office verifies under its own root.
        let both = try TrustStore(roots: [pki.ca.certificate, other.ca.certificate])
        #expect(TestSupport.code(try other.seal().verify(trust: both)) == nil)
    }

    @Test func wrongAndUnknownAlgorithms() throws {
        let pki = try TestSupport.PKI(.es256)
        var envelope = try pki.seal()
        envelope.signature.alg = "SM2-SM3"
        #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == .algorithmMismatch)
        envelope.signature.alg = "RS256"
        #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == .unsupportedAlgorithm)
        // A correctly signed header whose payload digest uses the wrong digest algorithm.
        var sm3Header = try pki.seal().header
        sm3Header["payloadDigest"] = ["alg": "sm3", "value": .string(Digest.hex(.sm3, TestSupport.record.canonicalBytes()))]
        let signature = try pki.xinsheng.signature(over: JSONValue.object(sm3Header).canonicalBytes())
        let mixed = Envelope(header: sm3Header, payload: TestSupport.record, signature: signature)
        #expect(TestSupport.code(mixed.verify(trust: pki.trust)) == .algorithmMismatch)
    }

    @Test func malformedEnvelopes() throws {
        let pki = try TestSupport.PKI(.ed25519)
        #expect(throws: VerificationFailure.self) { try Envelope(json: ["envelope": 1]) }
        #expect(throws: VerificationFailure.self) { try Envelope(json: "text") }
        var envelope = try pki.seal()
        envelope.header["from"] = nil
        #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == .malformedEnvelope)
        var badBase64 = try pki.seal()
        badBase64.signature.value = "%%%"
        #expect(TestSupport.code(badBase64.verify(trust: pki.trust)) == .badSignature)
    }

    @Test func signerRefusesAKeyThatIsNotTheCertificates() throws {
        let pki = try TestSupport.PKI(.sm2sm3)
        #expect { try Signer(key: pki.renshi.key, certificate: pki.xinsheng.certificate) } throws: {
            ($0 as? SigningError)?.code == .keyMismatch
        }
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func receipts(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let envelope = try pki.seal()
        let receipt = try Receipt.issue(for: envelope, by: "renshi", outcome: .accepted, signer: pki.renshi)
        #expect(receipt.acknowledges(envelope))
        let reread = try Receipt(json: try JSONParser.parse(receipt.json.canonicalBytes()))
        #expect(reread.json.canonicalBytes() == receipt.json.canonicalBytes())
        #expect(TestSupport.code(reread.verify(trust: pki.trust)) == nil)
        #expect(reread.header["reason"] == nil)

        let rejected = try Receipt.issue(
            for: envelope, by: "renshi", outcome: .rejected, reason: .digestMismatch, signer: pki.renshi)
        #expect(rejected.reason == "digest-mismatch")
        #expect(TestSupport.code(rejected.verify(trust: pki.trust)) == nil)

        var tampered = receipt
        tampered.header["outcome"] = "rejected"
        tampered.header["reason"] = "bad-signature"
        #expect(TestSupport.code(tampered.verify(trust: pki.trust)) == .badSignature)
        let impostor = try Receipt.issue(for: envelope, by: "renshi", outcome: .accepted, signer: pki.xinsheng)
        #expect(TestSupport.code(impostor.verify(trust: pki.trust)) == .senderMismatch)
        #expect(!receipt.acknowledges(try pki.seal()))
    }
}

/// Single-byte changes of a JSON value: every byte of every string (XOR 0x01, kept valid UTF-8),
/// every number (+1), every boolean.
enum Mutations {
    static func of(_ value: JSONValue) -> [JSONValue] {
        switch value {
        case .null: return [.bool(false)]
        case .bool(let flag): return [.bool(!flag)]
        case .number(let number): return [.number(JSONNumber((number.intValue ?? 0) + 1))]
        case .string(let string):
            let bytes = Array(string.utf8)
            return bytes.indices.compactMap { index in
                var copy = bytes
                copy[index] ^= 0x01
                guard let text = String(validating: copy, as: UTF8.self), text != string else { return nil }
                return .string(text)
            }
        case .array(let elements):
            return elements.indices.flatMap { index in
                of(elements[index]).map { mutated in
                    var copy = elements
                    copy[index] = mutated
                    return JSONValue.array(copy)
                }
            }
        case .object(let object):
            return object.members.indices.flatMap { index in
                of(object.members[index].value).map { mutated in
                    var copy = object
                    copy.members[index].value = mutated
                    return JSONValue.object(copy)
                }
            }
        }
    }
}

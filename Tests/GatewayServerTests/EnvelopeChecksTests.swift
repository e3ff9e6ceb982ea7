import Foundation
import GatewayModel
import GatewaySigning
import Testing

@testable import GatewayServer

/// `EnvelopeChecks.verify`, the signature checks of a batch received from a peer: each result is
/// the one `Envelope.verify` gives, and a batch signature is checked once per batch (envelope.md:
/// the verified (statement, certificate) pair is cached), not once per core.
@Suite struct EnvelopeChecksTests {
    @Test(arguments: [SignatureAlgorithm.es256, .sm2sm3])
    func aBatchSignatureIsCheckedOncePerBatch(_ algorithm: SignatureAlgorithm) async throws {
        let ca = try CertificateAuthority.create(algorithm: algorithm, commonName: "checks root", notBefore: Date().addingTimeInterval(-86_400))
        let key = try PrivateKey.generate(algorithm)
        let certificate = try ca.issue(
            officeID: "renshi", commonName: "renshi", subjectKey: key.publicKey, notBefore: Date().addingTimeInterval(-3600),
            notAfter: Date().addingTimeInterval(86_400))
        let signer = try Signer(key: key, certificate: certificate)
        // Two documents of 30 records, each sealed as one batch, read back from their JSON as a
        // peer's request is (no canonical bytes kept from the sealing).
        func document(_ first: Int) throws -> [Envelope] {
            let records: [JSONValue] = (first..<first + 30).map { number in
                ["kind": "traffic-violation", "schemaVersion": 1, "recordId": .string("sc-traffic:\(number)"), "updatedAt": "2023-07-11T08:31:02+08:00"]
            }
            return try Envelope.sealBatch(records: records, from: "renshi", to: ["xinsheng"], signer: signer).map {
                try Envelope(json: JSONParser.parse($0.canonicalBytes()))
            }
        }
        let envelopes = try document(0) + document(100)
        #expect(Set(envelopes.map(\.signature.value)).count == 2)
        let pending = envelopes.map { (envelope: $0, time: Date()) }

        let trust = try TrustStore(roots: [ca.certificate])
        let results = await EnvelopeChecks.verify(pending, trust: trust)
        #expect(results.count == 60)
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
        let statistics = trust.batchStatements.statistics
        #expect(statistics.signatureChecks == 2, "\(statistics)")
        #expect(statistics.hits == 58, "\(statistics)")

        // A batch-signed envelope whose payload or header changed after signing is refused as
        // `verify` refuses it, in its place, while the others of its batch still pass.
        var tampered = pending
        tampered[5].envelope.payload = ["tampered": true]
        tampered[40].envelope.header["to"] = ["liangping"]
        let fresh = try TrustStore(roots: [ca.certificate])
        let expected = tampered.map { item in Self.code(item.envelope.verify(trust: fresh, at: item.time)) }
        #expect(expected[5] == .digestMismatch && expected[40] == .badSignature, "\(expected)")
        let checked = await EnvelopeChecks.verify(tampered, trust: try TrustStore(roots: [ca.certificate]))
        #expect(checked.map(Self.code) == expected)
    }

    @Test func noEnvelopesNoChecks() async throws {
        let ca = try CertificateAuthority.create(algorithm: .es256, commonName: "checks root")
        #expect(await EnvelopeChecks.verify([], trust: try TrustStore(roots: [ca.certificate])).isEmpty)
    }

    static func code(_ result: Result<Certificate, VerificationFailure>) -> VerificationFailure.Code? {
        if case .failure(let failure) = result { return failure.code }
        return nil
    }
}

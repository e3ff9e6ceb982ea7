import Foundation
import GatewayModel
import GatewaySigning
import Testing

/// `Envelope.verifyEach`: the checks of a batch made on several cores answer what `verify` answers
/// for each envelope, in the batch's order.
@Suite struct ParallelVerificationTests {
    @Test(arguments: [SignatureAlgorithm.es256, .sm2sm3])
    func eachResultIsTheOneVerifyGivesInTheBatchsOrder(_ algorithm: SignatureAlgorithm) async throws {
        let pki = try TestSupport.PKI(algorithm)
        let good = try pki.seal()
        // A signature that is not the sender's (renshi signs as xinsheng), one checked before the
        // certificate was valid, and one whose payload was altered after signing.
        let notTheSender = try pki.seal(pki.renshi)
        var altered = try pki.seal()
        altered = Envelope(header: altered.header, payload: ["tampered": true], signature: altered.signature)
        let before = Date().addingTimeInterval(-86_400)
        var batch: [(envelope: Envelope, time: Date)] = []
        for index in 0..<41 {
            switch index % 4 {
            case 0: batch.append((good, Date()))
            case 1: batch.append((notTheSender, Date()))
            case 2: batch.append((good, before))
            default: batch.append((altered, Date()))
            }
        }
        let expected = batch.map { TestSupport.code($0.envelope.verify(trust: pki.trust, at: $0.time)) }
        #expect(Set(expected.map { $0?.rawValue ?? "ok" }).count == 4, "\(expected)")
        for width in [1, 2, 7] {
            let results = await Envelope.verifyEach(batch, trust: pki.trust, width: width)
            #expect(results.map(TestSupport.code) == expected, "width \(width)")
        }
        #expect(await Envelope.verifyEach([], trust: pki.trust).isEmpty)
    }
}

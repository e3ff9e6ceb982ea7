import Foundation
import Testing
@testable import GatewaySigning

@Suite struct PKIDirectoryTests {
    func mode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func initIssueRevokeAndList(_ algorithm: SignatureAlgorithm) throws {
        let dir = try TestSupport.temporaryDirectory().appendingPathComponent("pki").path
        let pki = PKIDirectory(path: dir)
        try PKIDirectory.initialize(at: dir, algorithm: algorithm, commonName: "川渝联合执法联盟根证书", days: 3650)
        #expect(try mode(pki.caKeyPath) == 0o600)
        #expect(try pki.revocationList().revokedSerials.isEmpty)
        #expect(throws: SigningError.self) {
            try PKIDirectory.initialize(at: dir, algorithm: algorithm, commonName: "second root", days: 1)
        }

        let xinsheng = try pki.issue(officeID: "xinsheng", commonName: "新盛镇川渝联合执法办公室", algorithm: algorithm, days: 365)
        let renshi = try pki.issue(officeID: "renshi", commonName: "任市镇川渝联合执法办公室", algorithm: .ed25519, days: 30)
        #expect(try mode(pki.officeKeyPath("xinsheng")) == 0o600)
        #expect(try mode(pki.officeCertificatePath("xinsheng")) == 0o644)
        #expect(xinsheng.officeIDs == ["xinsheng"] && xinsheng.commonName == "新盛镇川渝联合执法办公室")
        #expect(xinsheng.serial.count >= 31 && xinsheng.serial != renshi.serial)
        #expect(abs(xinsheng.notAfter.timeIntervalSinceNow - 365 * 86_400) < 120)
        #expect(throws: SigningError.self) {
            try pki.issue(officeID: "xinsheng", commonName: "again", algorithm: algorithm, days: 1)
        }
        #expect(throws: SigningError.self) { try pki.issue(officeID: "bad,URI:x", commonName: "x", algorithm: algorithm, days: 1) }

        let signer = try Signer(keyFile: pki.officeKeyPath("xinsheng"), certificateFile: pki.officeCertificatePath("xinsheng"))
        let envelope = try Envelope.seal(record: TestSupport.record, from: "xinsheng", to: ["renshi"], signer: signer)
        #expect(TestSupport.code(envelope.verify(trust: try pki.trustStore())) == nil)

        let crl = try pki.revoke(serial: xinsheng.serial.uppercased())
        #expect(crl.revokedSerials == [xinsheng.serial] && crl.number == 2)
        #expect(TestSupport.code(envelope.verify(trust: try pki.trustStore())) == .revokedCertificate)
        let second = try pki.revoke(serial: renshi.serial)
        #expect(second.revokedSerials == [xinsheng.serial, renshi.serial] && second.number == 3)
        #expect(throws: SigningError.self) { try pki.revoke(serial: "abcdef") }

        let issued = try pki.issued()
        #expect(issued.count == 3 && issued.first?.isCA == true)
        #expect(Set(issued.map(\.serial)).isSuperset(of: [xinsheng.serial, renshi.serial]))
        // Re-issuing with force gives a new key; the old certificate stays listed and revoked.
        let renewed = try pki.issue(officeID: "xinsheng", commonName: "新盛镇川渝联合执法办公室", algorithm: algorithm, days: 365, force: true)
        #expect(try pki.issued().count == 4)
        let fresh = try Signer(keyFile: pki.officeKeyPath("xinsheng"), certificateFile: pki.officeCertificatePath("xinsheng"))
        #expect(fresh.certificate.serial == renewed.serial)
        let renewedEnvelope = try Envelope.seal(record: TestSupport.record, from: "xinsheng", to: ["renshi"], signer: fresh)
        #expect(TestSupport.code(renewedEnvelope.verify(trust: try pki.trustStore())) == nil)
    }

    /// A CRL goes stale after its nextUpdate; it still applies (revocations stand), the trust store
    /// names it, and a refresh re-signs the same revocations with the next number and a new nextUpdate.
    @Test func staleCRLStillAppliesAndRefreshKeepsItsRevocations() throws {
        let dir = try TestSupport.temporaryDirectory().appendingPathComponent("pki").path
        let pki = PKIDirectory(path: dir)
        try PKIDirectory.initialize(at: dir, algorithm: .sm2sm3, commonName: "川渝联合执法联盟根证书", days: 3650)
        let xinsheng = try pki.issue(officeID: "xinsheng", commonName: "新盛镇川渝联合执法办公室", algorithm: .sm2sm3, days: 365)
        let revokedAt = Date()
        let crl = try pki.revoke(serial: xinsheng.serial, now: revokedAt)
        let nextUpdate = try #require(crl.nextUpdate)
        #expect(abs(nextUpdate.timeIntervalSince(revokedAt) - PKIDirectory.crlLifetime) < 2)
        let trust = try pki.trustStore()
        #expect(trust.staleRevocationLists(at: nextUpdate.addingTimeInterval(-60)).isEmpty)
        let later = nextUpdate.addingTimeInterval(86_400)
        #expect(trust.staleRevocationLists(at: later).count == 1)

        let signer = try Signer(keyFile: pki.officeKeyPath("xinsheng"), certificateFile: pki.officeCertificatePath("xinsheng"))
        let envelope = try Envelope.seal(record: TestSupport.record, from: "xinsheng", to: ["renshi"], signer: signer)
        #expect(TestSupport.code(envelope.verify(trust: trust, at: later)) == .revokedCertificate)

        let refreshed = try pki.refreshCRL(now: later)
        #expect(refreshed.number == (crl.number ?? 0) + 1)
        #expect(refreshed.revokedSerials == [xinsheng.serial])
        #expect(refreshed.revocationDates[xinsheng.serial].map { abs($0.timeIntervalSince(revokedAt)) < 2 } == true)
        #expect(!refreshed.isStale(at: later) && refreshed.isStale(at: later.addingTimeInterval(PKIDirectory.crlLifetime + 60)))
        let refreshedTrust = try pki.trustStore()
        #expect(refreshedTrust.staleRevocationLists(at: later).isEmpty)
        #expect(TestSupport.code(envelope.verify(trust: refreshedTrust, at: later)) == .revokedCertificate)
    }
}

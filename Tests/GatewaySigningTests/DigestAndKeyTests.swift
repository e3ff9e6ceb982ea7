import Foundation
import Testing
@testable import GatewaySigning

@Suite struct DigestAndKeyTests {
    @Test func sm3OfABC() {
        #expect(Digest.hex(.sm3, Array("abc".utf8)) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    }

    @Test func sha256OfABC() {
        #expect(Digest.hex(.sha256, Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func generatedKeysSignVerifyAndRoundTripThroughPEM(_ algorithm: SignatureAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        #expect(key.algorithm == algorithm)
        let reread = try PrivateKey(pem: try key.pem())
        #expect(reread.algorithm == algorithm)
        let message = Array("川渝 envelope".utf8)
        let signature = try reread.sign(message)
        let publicKey = try PublicKey(pem: try key.publicKey.pem())
        #expect(publicKey.algorithm == algorithm)
        #expect(publicKey.isValidSignature(signature, for: message))
        #expect(!publicKey.isValidSignature(signature, for: message + [0]))
        if algorithm == .ed25519 { #expect(signature.count == 64) } else { #expect(signature.first == 0x30) }
        // A key of another algorithm never verifies it.
        let other = try PrivateKey.generate(algorithm == .es256 ? .sm2sm3 : .es256).publicKey
        #expect(!other.isValidSignature(signature, for: message))
    }

    @Test func privateKeyDescriptionShowsNoKeyMaterial() throws {
        let key = try PrivateKey.generate(.sm2sm3)
        #expect(String(describing: key) == "PrivateKey(SM2-SM3)")
    }

    @Test func rejectsGarbageAndOtherKeyTypes() throws {
        #expect(throws: SigningError.self) { try PrivateKey(pem: Array("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8)) }
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("p384.pem").path
        let result = try TestSupport.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path])
        #expect(result.status == 0)
        #expect { try PrivateKey(file: path) } throws: { ($0 as? SigningError)?.code == .unsupportedAlgorithm }
    }

    @Test func uuidV7AndTimestamps() {
        let date = Date(timeIntervalSince1970: 1_689_035_462)  // 2023-07-11T00:31:02Z
        #expect(Timestamp.string(date) == "2023-07-11T08:31:02+08:00")
        #expect(Timestamp.string(Date(timeIntervalSince1970: 951_782_400 - 8 * 3600)) == "2000-02-29T00:00:00+08:00")
        let id = UUIDv7.generate(at: date)
        let pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
        #expect(id.wholeMatch(of: pattern) != nil)
        #expect(id.hasPrefix("0189425b-d570-"))  // 1689035462000 ms = 0x0189425bd570
        #expect(UUIDv7.generate(at: date) != id)
    }
}

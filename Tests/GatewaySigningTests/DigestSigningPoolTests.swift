import Foundation
import Testing
@testable import GatewaySigning

/// ES256 signs a precomputed SHA-256 digest on kept `EVP_PKEY_CTX`s (`DigestSigningPool`, issue 18
/// item 6): the signatures must be what `EVP_DigestSign` made before, from any number of threads.
@Suite struct DigestSigningPoolTests {
    /// A DER ECDSA signature as envelope.md specifies: `SEQUENCE { INTEGER r, INTEGER s }`, short form.
    static func isDERSignature(_ signature: [UInt8]) -> Bool {
        guard signature.count >= 8, signature[0] == 0x30, Int(signature[1]) == signature.count - 2, signature[2] == 0x02 else {
            return false
        }
        let rLength = Int(signature[3])
        let sAt = 4 + rLength
        guard sAt + 1 < signature.count, signature[sAt] == 0x02 else { return false }
        return sAt + 2 + Int(signature[sAt + 1]) == signature.count
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func onlyES256KeysSignPrecomputedDigests(_ algorithm: SignatureAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        #expect(key.signsPrecomputedDigests == (algorithm == .es256))
        // A key read back from PEM too (the way xgw serve loads its signing key).
        #expect(try PrivateKey(pem: key.pem()).signsPrecomputedDigests == (algorithm == .es256))
    }

    @Test func concurrentSignaturesWithOneKeyAllVerify() async throws {
        let key = try PrivateKey.generate(.es256)
        #expect(key.signsPrecomputedDigests)
        let publicKey = try key.publicKey
        // More concurrent signers than the pool keeps contexts for, several rounds each.
        let signed = try await withThrowingTaskGroup(of: [([UInt8], [UInt8])].self) { group in
            for task in 0..<24 {
                group.addTask {
                    try (0..<40).map { index in
                        let message = Array("川渝 envelope \(task)-\(index)".utf8)
                        return (message, try key.sign(message))
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(signed.count == 24 * 40)
        for (message, signature) in signed {
            #expect(Self.isDERSignature(signature), "\(signature)")
            #expect(publicKey.isValidSignature(signature, for: message))
            #expect(!publicKey.isValidSignature(signature, for: message + [0]))
        }
    }

    @Test func pooledSignaturesVerifyWithOpenSSLDgst() throws {
        let key = try PrivateKey.generate(.es256)
        let dir = try TestSupport.temporaryDirectory()
        let publicKeyPath = dir.appendingPathComponent("pub.pem").path
        try FileBytes.write(try key.publicKey.pem(), to: publicKeyPath)
        // Several signatures in a row on the same kept context, each checked by `openssl dgst`
        // (ECDSA over SHA-256 of the message, DER), the way a receiver without xgw checks one.
        for index in 0..<3 {
            let message = Array("{\"id\":\"\(index)\",\"kind\":\"traffic-violation\"}".utf8)
            let messagePath = dir.appendingPathComponent("m\(index)").path
            let signaturePath = dir.appendingPathComponent("s\(index)").path
            try FileBytes.write(message, to: messagePath)
            try FileBytes.write(try key.sign(message), to: signaturePath)
            let verified = try TestSupport.openssl(
                ["dgst", "-sha256", "-verify", publicKeyPath, "-signature", signaturePath, messagePath])
            #expect(verified.status == 0, "\(verified.output)")
            #expect(verified.output.contains("Verified OK"))
        }
    }
}

import Foundation
import Testing
@testable import GatewaySigning

/// Wycheproof verification vectors: every `valid` signature accepted, every `invalid` rejected.
/// These files carry no `acceptable` cases; any would be counted and reported, not asserted.
@Suite struct WycheproofTests {
    struct Counts: CustomStringConvertible {
        var valid = 0, invalid = 0, acceptableAccepted = 0, acceptableRejected = 0
        var description: String { "valid \(valid), invalid \(invalid), acceptable accepted \(acceptableAccepted) / rejected \(acceptableRejected)" }
    }

    func run(_ file: String, expect algorithm: SignatureAlgorithm) throws -> Counts {
        let url = TestSupport.testdata.appendingPathComponent("wycheproof/\(file)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let groups = try #require(root["testGroups"] as? [[String: Any]])
        var counts = Counts()
        for group in groups {
            let keyDER = try #require(Hex.decode(group["publicKeyDer"] as? String ?? "-"))
            let key = try? PublicKey(der: keyDER)
            for test in try #require(group["tests"] as? [[String: Any]]) {
                let id = test["tcId"] as? Int ?? -1
                let message = try #require(Hex.decode(test["msg"] as? String ?? "-"))
                let signature = try #require(Hex.decode(test["sig"] as? String ?? "-"))
                let accepted = key.map { $0.isValidSignature(signature, for: message) } ?? false
                switch test["result"] as? String {
                case "valid":
                    #expect(key?.algorithm == algorithm)
                    #expect(accepted, "tcId \(id) valid but rejected")
                    counts.valid += 1
                case "invalid":
                    #expect(!accepted, "tcId \(id) invalid but accepted")
                    counts.invalid += 1
                default:
                    if accepted { counts.acceptableAccepted += 1 } else { counts.acceptableRejected += 1 }
                }
            }
        }
        return counts
    }

    @Test func ecdsaP256SHA256() throws {
        let counts = try run("ecdsa_secp256r1_sha256_test.json", expect: .es256)
        #expect(counts.valid == 174 && counts.invalid == 310, "\(counts)")
    }

    @Test func ed25519() throws {
        let counts = try run("ed25519_test.json", expect: .ed25519)
        #expect(counts.valid == 88 && counts.invalid == 63, "\(counts)")
    }
}

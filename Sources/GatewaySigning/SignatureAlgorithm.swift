/// The signature algorithms of envelope.md (`signature.alg`).
public enum SignatureAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// SM2 on the GB/T 32918.5 curve with SM3 and the distinguishing ID `1234567812345678` (default).
    case sm2sm3 = "SM2-SM3"
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
    /// Pure Ed25519.
    case ed25519 = "Ed25519"

    public var description: String { rawValue }

    /// Parses `SM2-SM3`, `ES256`, `Ed25519`; `nil` for anything else (reason `unsupported-algorithm`).
    public init?(name: String) { self.init(rawValue: name) }

    /// The payload digest that goes with this algorithm (`payloadDigest.alg`).
    public var payloadDigest: DigestAlgorithm { self == .sm2sm3 ? .sm3 : .sha256 }

    /// The OpenSSL digest name for `EVP_DigestSignInit_ex`; `nil` for Ed25519 (no pre-hash).
    var openSSLDigestName: String? {
        switch self {
        case .sm2sm3: "SM3"
        case .es256: "SHA256"
        case .ed25519: nil
        }
    }
}

import COpenSSL

/// A public key of one of the three envelope algorithms. Immutable; owns its `EVP_PKEY`.
public final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// The algorithm this key verifies (`SM2-SM3` for SM2 keys, `ES256` for P-256, `Ed25519`).
    public let algorithm: SignatureAlgorithm
    /// A verification context initialised once, copied for each verification (see `PrivateKey`).
    private let template: OpaquePointer?

    /// Takes ownership of `pkey` (one reference).
    init(owning pkey: OpaquePointer) throws {
        guard let algorithm = KeyType.algorithm(of: pkey) else {
            EVP_PKEY_free(pkey)
            throw SigningError(.unsupportedAlgorithm, "public key is not SM2, P-256 or Ed25519")
        }
        self.pkey = pkey
        self.algorithm = algorithm
        self.template = OpenSSL.makeDigestContext(pkey, algorithm, verifying: true)
        _ = OpenSSL.drainErrors()
    }

    deinit {
        EVP_MD_CTX_free(template)
        EVP_PKEY_free(pkey)
    }

    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    public convenience init(pem: [UInt8]) throws {
        let pkey = try OpenSSL.withReadBIO(pem) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        guard let pkey else { throw OpenSSL.error(.invalidKey, "cannot read PEM public key") }
        try self.init(owning: pkey)
    }

    /// Reads a DER SubjectPublicKeyInfo.
    public convenience init(der: [UInt8]) throws {
        let pkey = OpenSSL.fromDER(der) { d2i_PUBKEY(nil, $0, $1) }
        guard let pkey else { throw OpenSSL.error(.invalidKey, "cannot read DER public key") }
        try self.init(owning: pkey)
    }

    /// PEM `PUBLIC KEY`.
    public func pem() throws -> [UInt8] {
        try OpenSSL.writeBIO("PEM_write_bio_PUBKEY") { PEM_write_bio_PUBKEY($0, pkey) }
    }

    /// DER SubjectPublicKeyInfo.
    public func der() throws -> [UInt8] {
        try OpenSSL.der("i2d_PUBKEY") { i2d_PUBKEY(pkey, $0) }
    }

    /// Whether `signature` is a valid signature of `message` under this key with its algorithm
    /// (SM2 with the distinguishing ID `1234567812345678`). Malformed signatures are simply invalid.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }

    public func isValidSignature(_ signature: [UInt8], for message: UnsafeRawBufferPointer) -> Bool {
        guard let md = OpenSSL.digestContext(copying: template, pkey, algorithm, verifying: true) else {
            _ = OpenSSL.drainErrors()
            return false
        }
        defer { EVP_MD_CTX_free(md) }
        let result = signature.withUnsafeBufferPointer { sig in
            EVP_DigestVerify(md, sig.baseAddress, sig.count, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count)
        }
        if result != 1 { _ = OpenSSL.drainErrors() }
        return result == 1
    }

    /// Whether this is the same key as `other` (`EVP_PKEY_eq`).
    public func matches(_ other: PublicKey) -> Bool { EVP_PKEY_eq(pkey, other.pkey) == 1 }
}

/// Recognises the key types of the three envelope algorithms.
enum KeyType {
    static func algorithm(of pkey: OpaquePointer) -> SignatureAlgorithm? {
        if EVP_PKEY_is_a(pkey, "SM2") == 1 { return .sm2sm3 }
        if EVP_PKEY_is_a(pkey, "ED25519") == 1 { return .ed25519 }
        if EVP_PKEY_is_a(pkey, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, &name, name.count, &length) == 1 else {
                _ = OpenSSL.drainErrors()
                return nil
            }
            let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            switch group {
            case "prime256v1", "P-256", "secp256r1": return .es256
            case "SM2": return .sm2sm3
            default: return nil
            }
        }
        return nil
    }
}

import COpenSSL
import Foundation

/// A private signing key of one of the three envelope algorithms. Immutable; owns its `EVP_PKEY`.
///
/// Never printed: `description` shows only the algorithm.
public final class PrivateKey: @unchecked Sendable, CustomStringConvertible {
    let pkey: OpaquePointer
    public let algorithm: SignatureAlgorithm
    /// A signing context initialised once (digest, SM2 ID); each signature works on a copy
    /// (`OpenSSL.digestContext`). Only ever read after `init` (`EVP_MD_CTX_copy_ex` takes it as
    /// const), so sharing it between threads is safe.
    private let template: OpaquePointer?
    /// The largest signature this key makes (`EVP_PKEY_get_size`: 72 bytes of DER for P-256 and
    /// SM2, 64 for Ed25519), so signing needs no size query first.
    private let maxSignatureSize: Int
    /// ES256: contexts that sign a precomputed SHA-256 digest, kept for reuse (`DigestSigningPool`).
    private let digestSigning: DigestSigningPool?

    /// Whether signatures go through `DigestSigningPool` (ES256, unless OpenSSL refused its context).
    var signsPrecomputedDigests: Bool { digestSigning != nil }

    init(owning pkey: OpaquePointer) throws {
        guard let algorithm = KeyType.algorithm(of: pkey) else {
            EVP_PKEY_free(pkey)
            throw SigningError(.unsupportedAlgorithm, "private key is not SM2, P-256 or Ed25519")
        }
        self.pkey = pkey
        self.algorithm = algorithm
        self.template = OpenSSL.makeDigestContext(pkey, algorithm, verifying: false)
        self.maxSignatureSize = max(Int(EVP_PKEY_get_size(pkey)), 0)
        self.digestSigning = algorithm == .es256 && maxSignatureSize > 0 ? DigestSigningPool(pkey, digest: .sha256) : nil
        _ = OpenSSL.drainErrors()
    }

    deinit {
        EVP_MD_CTX_free(template)
        EVP_PKEY_free(pkey)
    }

    public var description: String { "PrivateKey(\(algorithm))" }

    /// A fresh random key.
    public static func generate(_ algorithm: SignatureAlgorithm) throws -> PrivateKey {
        let typeName = switch algorithm {
        case .sm2sm3: "SM2"
        case .es256: "EC"
        case .ed25519: "ED25519"
        }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, typeName, nil) else {
            throw OpenSSL.error(.cryptoFailure, "EVP_PKEY_CTX_new_from_name \(typeName)")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw OpenSSL.error(.cryptoFailure, "EVP_PKEY_keygen_init") }
        if algorithm == .es256 {
            guard EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1 else {
                throw OpenSSL.error(.cryptoFailure, "EVP_PKEY_CTX_set_group_name")
            }
        }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else { throw OpenSSL.error(.cryptoFailure, "EVP_PKEY_generate") }
        return try PrivateKey(owning: pkey)
    }

    /// Reads a PEM private key (PKCS#8 `PRIVATE KEY` or the traditional `EC PRIVATE KEY`), unencrypted.
    public convenience init(pem: [UInt8]) throws {
        let pkey = try OpenSSL.withReadBIO(pem) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let pkey else { throw SigningError(.invalidKey, "cannot read PEM private key (\(OpenSSL.drainErrors()))") }
        try self.init(owning: pkey)
    }

    /// Reads a PEM private key file.
    public convenience init(file path: String) throws {
        try self.init(pem: try FileBytes.read(path))
    }

    /// Unencrypted PKCS#8 PEM (`PRIVATE KEY`). Callers write it with mode 0600 (`FileBytes.writeSecret`).
    public func pem() throws -> [UInt8] {
        try OpenSSL.writeBIO("PEM_write_bio_PrivateKey") { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) }
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        get throws {
            let der = try OpenSSL.der("i2d_PUBKEY") { i2d_PUBKEY(pkey, $0) }
            return try PublicKey(der: der)
        }
    }

    /// Signs `message` with this key's algorithm (SM2 with the distinguishing ID `1234567812345678`).
    /// ECDSA and SM2 signatures are DER `SEQUENCE { r, s }`; Ed25519 signatures are 64 bytes.
    /// ES256 signs the SHA-256 of `message` on a kept `EVP_PKEY_CTX` (`DigestSigningPool`), the
    /// same signature as `EVP_DigestSign` at two thirds of its cost.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        try message.withUnsafeBytes { try sign($0) }
    }

    public func sign(_ message: UnsafeRawBufferPointer) throws -> [UInt8] {
        if let digestSigning { return try digestSigning.sign(message, maxLength: maxSignatureSize) }
        return try withSigningContext { md in
            var length = maxSignatureSize
            let data = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
            if length == 0, EVP_DigestSign(md, nil, &length, data, message.count) != 1 {
                throw OpenSSL.error(.cryptoFailure, "EVP_DigestSign (size)")
            }
            return try [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
                guard EVP_DigestSign(md, buffer.baseAddress, &length, data, message.count) == 1 else {
                    throw OpenSSL.error(.cryptoFailure, "EVP_DigestSign")
                }
                count = length
            }
        }
    }

    /// Runs `body` with an `EVP_MD_CTX` initialised for signing with this key: the right digest,
    /// and for SM2 the distinguishing ID on its `EVP_PKEY_CTX`. Used for data, certificates and CRLs.
    func withSigningContext<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        guard let md = OpenSSL.digestContext(copying: template, pkey, algorithm, verifying: false) else {
            throw OpenSSL.error(.cryptoFailure, "EVP_DigestSignInit_ex")
        }
        defer { EVP_MD_CTX_free(md) }
        return try body(md)
    }
}

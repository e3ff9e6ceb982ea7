import COpenSSL
import GatewaySigning

/// The raw OpenSSL path `xgw bench sign` compares sealing against: keys parsed once, one EVP
/// context per operation (`signCopied`: one context initialised once and copied).
final class RawEVP {
    let privateKey: OpaquePointer
    let publicKey: OpaquePointer
    let digest: String?
    let isSM2: Bool
    /// A signing context initialised once (`signCopied`).
    let signTemplate: OpaquePointer?
    static let id: [UInt8] = Array("1234567812345678".utf8)
    static let refused = BenchmarkError.software("OpenSSL refused a key the benchmark generated")

    init(privateKeyPEM: [UInt8], publicKeyPEM: [UInt8], algorithm: SignatureAlgorithm) throws {
        func read<T>(_ pem: [UInt8], _ reader: (OpaquePointer) -> T?) throws -> T {
            try pem.withUnsafeBytes { raw in
                guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { throw Self.refused }
                defer { BIO_free(bio) }
                guard let value = reader(bio) else { throw Self.refused }
                return value
            }
        }
        privateKey = try read(privateKeyPEM) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        publicKey = try read(publicKeyPEM) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        digest = switch algorithm {
        case .sm2sm3: "SM3"
        case .es256: "SHA256"
        case .ed25519: nil
        }
        isSM2 = algorithm == .sm2sm3
        signTemplate = EVP_MD_CTX_new()
        var pctx: OpaquePointer? = nil
        guard EVP_DigestSignInit_ex(signTemplate, &pctx, digest, nil, nil, privateKey, nil) == 1,
              !isSM2 || EVP_PKEY_CTX_set1_id(pctx, Self.id, Int32(Self.id.count)) == 1
        else { throw Self.refused }
    }

    deinit {
        EVP_PKEY_CTX_free(keptContext)
        EVP_MD_CTX_free(signTemplate)
        EVP_PKEY_free(privateKey)
        EVP_PKEY_free(publicKey)
    }

    func signature(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 160)
        var length = out.count
        let md = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestSignInit_ex(md, &pctx, digest, nil, nil, privateKey, nil) == 1,
              !isSM2 || EVP_PKEY_CTX_set1_id(pctx, Self.id, Int32(Self.id.count)) == 1,
              EVP_DigestSign(md, &out, &length, message, message.count) == 1
        else { return [] }
        return Array(out.prefix(length))
    }

    func sign(_ message: [UInt8]) -> Bool { !signature(message).isEmpty }

    /// The fastest plain EVP path: a context initialised once, copied per signature, marked for one
    /// use (`EVP_MD_CTX_FLAG_FINALISE`, so the final step doesn't duplicate it).
    func signCopied(_ message: [UInt8]) -> Bool {
        guard let template = signTemplate, let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        var out = [UInt8](repeating: 0, count: 160)
        var length = out.count
        guard EVP_MD_CTX_copy_ex(md, template) == 1 else { return false }
        EVP_MD_CTX_set_flags(md, EVP_MD_CTX_FLAG_FINALISE)
        return EVP_DigestSign(md, &out, &length, message, message.count) == 1
    }

    /// ES256 as `openssl speed ecdsap256` signs: `EVP_PKEY_sign` on a context initialised once,
    /// here over the SHA-256 of `message` (nil for the other algorithms).
    lazy var keptContext: OpaquePointer? = {
        guard digest == "SHA256", let ctx = EVP_PKEY_CTX_new_from_pkey(nil, privateKey, nil) else { return nil }
        guard EVP_PKEY_sign_init(ctx) == 1 else {
            EVP_PKEY_CTX_free(ctx)
            return nil
        }
        return ctx
    }()

    func signKept(_ message: [UInt8]) -> Bool {
        guard let ctx = keptContext else { return false }
        var hash = [UInt8](repeating: 0, count: 32)
        var hashLength: UInt32 = 0
        var out = [UInt8](repeating: 0, count: 160)
        var length = out.count
        return EVP_Digest(message, message.count, &hash, &hashLength, EVP_sha256(), nil) == 1
            && EVP_PKEY_sign(ctx, &out, &length, hash, Int(hashLength)) == 1
    }

    func verify(_ signature: [UInt8], _ message: [UInt8]) -> Bool {
        let md = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        return EVP_DigestVerifyInit_ex(md, &pctx, digest, nil, nil, publicKey, nil) == 1
            && (!isSM2 || EVP_PKEY_CTX_set1_id(pctx, Self.id, Int32(Self.id.count)) == 1)
            && EVP_DigestVerify(md, signature, signature.count, message, message.count) == 1
    }
}

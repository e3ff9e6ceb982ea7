import COpenSSL
import Synchronization

/// `EVP_PKEY_CTX`s initialised once for `EVP_PKEY_sign` with one key, reused signature after
/// signature: the way `openssl speed ecdsap256` signs. `EVP_DigestSignInit_ex` per signature (or
/// copying a pre-initialised `EVP_MD_CTX`) costs OpenSSL 3 a provider look-up and a context
/// duplication, about a third of a P-256 signature (issue 18, item 6); signing a SHA-256 digest
/// computed with the pre-fetched `EVP_MD` on a kept context does not.
///
/// The signature is the one `EVP_DigestSign` with SHA-256 makes: ECDSA over the SHA-256 of the
/// message, DER `SEQUENCE { r, s }` (envelope.md). Only for ES256: SM2 signs SM3(Z ‖ M), and pure
/// Ed25519 has no pre-hash.
///
/// An `EVP_PKEY_CTX` is used by one thread at a time: each signature takes a context from `idle`
/// and gives it back afterwards, so contexts are created only as many as there were concurrent
/// signers (at most `keptContexts` are kept).
final class DigestSigningPool: Sendable {
    /// A C pointer that passes between threads only through `idle` (one user at a time).
    private struct Context: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private let key: Context
    private let idle = Mutex<[Context]>([])
    private let digest: DigestAlgorithm
    /// Contexts kept for reuse beyond this many concurrent signers are freed.
    private static let keptContexts = 16

    /// Nil when OpenSSL refuses a context for `pkey` (the caller then signs with `EVP_DigestSign`).
    init?(_ pkey: OpaquePointer, digest: DigestAlgorithm) {
        key = Context(pointer: pkey)
        self.digest = digest
        guard let first = makeContext() else { return nil }
        idle.withLock { $0.append(first) }
    }

    deinit {
        idle.withLock { contexts in
            for context in contexts { EVP_PKEY_CTX_free(context.pointer) }
        }
    }

    private func makeContext() -> Context? {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else { return nil }
        // The signature digest makes OpenSSL check that what it signs is a digest of that size.
        guard EVP_PKEY_sign_init(ctx) == 1, EVP_PKEY_CTX_set_signature_md(ctx, digest.md) == 1 else {
            EVP_PKEY_CTX_free(ctx)
            _ = OpenSSL.drainErrors()
            return nil
        }
        return Context(pointer: ctx)
    }

    /// The DER signature over the digest of `message`, at most `maxLength` bytes.
    func sign(_ message: UnsafeRawBufferPointer, maxLength: Int) throws -> [UInt8] {
        guard let context = idle.withLock({ $0.popLast() }) ?? makeContext() else {
            throw OpenSSL.error(.cryptoFailure, "EVP_PKEY_sign_init")
        }
        var ok = false
        defer {
            // A context whose signature failed is not reused: its state is OpenSSL's to know.
            let kept = ok && idle.withLock { contexts in
                guard contexts.count < Self.keptContexts else { return false }
                contexts.append(context)
                return true
            }
            if !kept { EVP_PKEY_CTX_free(context.pointer) }
        }
        let signature = try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { hash in
            var hashLength: UInt32 = 0
            guard EVP_Digest(message.baseAddress, message.count, hash.baseAddress, &hashLength, digest.md, nil) == 1 else {
                throw OpenSSL.error(.cryptoFailure, "EVP_Digest")
            }
            return try [UInt8](unsafeUninitializedCapacity: maxLength) { buffer, count in
                var length = maxLength
                guard EVP_PKEY_sign(context.pointer, buffer.baseAddress, &length, hash.baseAddress, Int(hashLength)) == 1 else {
                    throw OpenSSL.error(.cryptoFailure, "EVP_PKEY_sign")
                }
                count = length
            }
        }
        ok = true
        return signature
    }
}

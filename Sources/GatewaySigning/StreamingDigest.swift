import COpenSSL
import Foundation

/// A digest computed over bytes that arrive in parts (an upload streamed to disk), without
/// holding them: `update` with each part, then `finish` once. One owner at a time: not for
/// concurrent use, and not usable after `finish`.
public final class StreamingDigest {
    private let context: OpaquePointer
    private var finished = false

    public init(_ algorithm: DigestAlgorithm) {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: \(OpenSSL.drainErrors())") }
        precondition(EVP_DigestInit_ex(context, algorithm.md, nil) == 1, "EVP_DigestInit_ex failed: \(OpenSSL.drainErrors())")
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds `bytes` to what is digested.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(!finished, "StreamingDigest.update after finish")
        guard bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1, "EVP_DigestUpdate failed: \(OpenSSL.drainErrors())")
    }

    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything added.
    public func finish() -> [UInt8] {
        precondition(!finished, "StreamingDigest.finish called twice")
        finished = true
        return [UInt8](unsafeUninitializedCapacity: 64) { out, count in
            var length: UInt32 = 0
            precondition(EVP_DigestFinal_ex(context, out.baseAddress, &length) == 1, "EVP_DigestFinal_ex failed: \(OpenSSL.drainErrors())")
            count = Int(length)
        }
    }

    /// The digest of everything added, as lower-case hex.
    public func finishHex() -> String { Hex.encode(finish()) }
}

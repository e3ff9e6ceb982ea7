import Foundation
import COpenSSL

/// The digest algorithms of envelope.md (`payloadDigest.alg`).
public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable {
    case sm3
    case sha256

    /// The OpenSSL implementation, fetched once per process (an implicit fetch per call costs a lock).
    var md: OpaquePointer {
        switch self {
        case .sm3: MessageDigestHandle.sm3.pointer
        case .sha256: MessageDigestHandle.sha256.pointer
        }
    }

    public var outputLength: Int { 32 }
}

/// Holds a fetched `EVP_MD`; never freed (one per algorithm for the life of the process).
final class MessageDigestHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    private init(_ name: String) {
        guard let md = EVP_MD_fetch(nil, name, nil) else { fatalError("OpenSSL has no \(name) digest") }
        pointer = md
    }

    static let sm3 = MessageDigestHandle("SM3")
    static let sha256 = MessageDigestHandle("SHA256")
}

/// One-shot digests (SM3, SHA-256).
public enum Digest {
    /// The digest of `bytes`.
    public static func compute(_ algorithm: DigestAlgorithm, _ bytes: some ContiguousBytes) -> [UInt8] {
        bytes.withUnsafeBytes { raw in compute(algorithm, raw) }
    }

    public static func compute(_ algorithm: DigestAlgorithm, _ raw: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 64) { out, count in
            var length: UInt32 = 0
            let ok = EVP_Digest(raw.baseAddress, raw.count, out.baseAddress, &length, algorithm.md, nil)
            precondition(ok == 1, "EVP_Digest failed: \(OpenSSL.drainErrors())")
            count = Int(length)
        }
    }

    /// The digest as lower-case hex.
    public static func hex(_ algorithm: DigestAlgorithm, _ bytes: some ContiguousBytes) -> String {
        bytes.withUnsafeBytes { hex(algorithm, $0) }
    }

    /// The digest as lower-case hex, made on the stack (no digest array: this runs once per
    /// envelope sealed).
    public static func hex(_ algorithm: DigestAlgorithm, _ raw: UnsafeRawBufferPointer) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { out in
            var length: UInt32 = 0
            let ok = EVP_Digest(raw.baseAddress, raw.count, out.baseAddress, &length, algorithm.md, nil)
            precondition(ok == 1, "EVP_Digest failed: \(OpenSSL.drainErrors())")
            return Hex.encode(UnsafeBufferPointer(rebasing: out[..<Int(length)]))
        }
    }
}

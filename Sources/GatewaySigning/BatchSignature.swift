import Foundation
import GatewayModel
import Synchronization

extension SignatureAlgorithm {
    /// The hash `H` of a batch's Merkle tree (envelope.md): SM3 for SM2-SM3, SHA-256 for ES256 and Ed25519.
    public var batchHash: DigestAlgorithm { self == .sm2sm3 ? .sm3 : .sha256 }
}

/// `signature.batch` (envelope.md, "Batch signatures"): where one envelope or receipt stands in a
/// signed batch — the batch's `size`, its `index`, and its RFC 9162 inclusion `path`, bottom up.
public struct BatchProof: Sendable, Hashable {
    public var size: Int
    public var index: Int
    /// The sibling hashes, bottom up.
    public var path: [[UInt8]]

    public init(size: Int, index: Int, path: [[UInt8]]) {
        self.size = size
        self.index = index
        self.path = path
    }

    /// Reads `signature.batch`. Anything wrong with it is `bad-signature`, as the contract says for
    /// a `size` that is not an integer ≥ 1, an `index` outside [0, size) and a `path` that does not
    /// fold; xgw reads a member that is not an object, a missing member, a `path` that is not an
    /// array of strings, and an element that is not the padded, canonical RFC 4648 §4 base64 of a
    /// 32-byte hash the same way (each is a path that cannot fold).
    public init(json: JSONValue) throws(VerificationFailure) {
        guard let object = json.objectValue else { throw Self.bad("signature.batch is not an object") }
        guard let size = object["size"].flatMap(Self.integer), size >= 1 else {
            throw Self.bad("signature.batch.size is not an integer ≥ 1")
        }
        guard let index = object["index"].flatMap(Self.integer), index >= 0, index < size else {
            throw Self.bad("signature.batch.index is not an integer in [0, size)")
        }
        guard let elements = object["path"]?.arrayValue else { throw Self.bad("signature.batch.path is not an array") }
        var path: [[UInt8]] = []
        path.reserveCapacity(elements.count)
        for (position, element) in elements.enumerated() {
            guard let text = element.stringValue, let hash = Self.hash(base64: text) else {
                throw Self.bad("signature.batch.path[\(position)] is not the base64 of a \(MerkleTree.hashLength)-byte hash")
            }
            path.append(hash)
        }
        guard path.count == MerkleTree.pathLength(index: index, size: size) else {
            throw Self.bad("signature.batch.path has \(path.count) elements; index \(index) of \(size) needs \(MerkleTree.pathLength(index: index, size: size))")
        }
        self.init(size: size, index: index, path: path)
    }

    /// The `batch` member: `{"index": …, "path": [base64, …], "size": …}`.
    public var json: JSONValue {
        .object(JSONObject([
            "size": .number(JSONNumber(size)), "index": .number(JSONNumber(index)),
            // Base64Text, not Foundation's encoder: a batch of n writes n·log2(n) of these (about 700
            // for a 100-record document), and Foundation spends ~0.4 µs on each 32-byte hash.
            "path": .array(path.map { .string(Base64Text.encode($0)) }),
        ]))
    }

    /// A JSON number whose value is an integer (`37`, also `37.0` or `3.7e1`, which JCS writes `37`).
    private static func integer(_ value: JSONValue) -> Int? {
        guard let number = value.numberValue else { return nil }
        if let exact = number.intValue { return exact }
        let double = number.doubleValue
        guard double.isFinite, double == double.rounded(), abs(double) <= 9_007_199_254_740_992 else { return nil }
        return Int(double)
    }

    private static func bad(_ message: String) -> VerificationFailure { VerificationFailure(.badSignature, message) }

    /// The 32 bytes of `text` when it is their canonical RFC 4648 §4 base64: 43 characters of the
    /// alphabet, the last with its two unused low bits zero, then one `=`. Nil otherwise.
    static func hash(base64 text: String) -> [UInt8]? {
        text.utf8.withContiguousStorageIfAvailable { decodeHash($0) } ?? decodeHash(Array(text.utf8))
    }

    private static func decodeHash<C: RandomAccessCollection>(_ chars: C) -> [UInt8]? where C.Element == UInt8, C.Index == Int {
        guard chars.count == 44, chars[chars.startIndex + 43] == UInt8(ascii: "=") else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(33)
        var accumulator: UInt32 = 0
        var bits = 0
        for offset in 0..<43 {
            guard let value = sextet(chars[chars.startIndex + offset]) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // 43 characters carry 258 bits: 32 bytes and two unused bits, which must be zero.
        guard out.count == MerkleTree.hashLength, bits == 2, accumulator & 0b11 == 0 else { return nil }
        return out
    }

    private static func sextet(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}

/// The batch statement a batch signature signs: the RFC 8785 serialization of
/// `{"xgwBatch": {"root": "<base64 root>", "size": N, "version": 1}}`.
public enum BatchStatement {
    /// Written directly (members in RFC 8785 order; base64 and a decimal integer need no escaping);
    /// `BatchSignatureTests` checks it equals the JCS of the statement as a JSON value.
    public static func bytes(root: [UInt8], size: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(96)
        out.append(contentsOf: "{\"xgwBatch\":{\"root\":\"".utf8)
        out.append(contentsOf: Base64Text.encode(root).utf8)
        out.append(contentsOf: "\",\"size\":".utf8)
        out.append(contentsOf: String(size).utf8)
        out.append(contentsOf: ",\"version\":1}}".utf8)
        return out
    }
}

/// Verified batch statements (envelope.md: "a verifier may cache a verified (statement,
/// certificate) pair"), so that a batch of N costs one signature check and N paths.
///
/// It holds only the result of the signature check: the certificate's chain, validity and
/// revocation are checked for every envelope before the cache is consulted. An entry is keyed by
/// the algorithm, the statement, the certificate (by its `keyId`, checked against the certificate
/// before) and the signature value, so an envelope whose
/// `value` was changed is checked (and refused) on its own. Only successful checks are kept.
/// Bounded: two generations of at most `limit` entries each; when the newer one is full the older
/// one is dropped, and an entry found in the older one moves to the newer one.
public final class BatchStatementCache: Sendable {
    struct Key: Hashable, Sendable {
        var algorithm: SignatureAlgorithm
        var statement: [UInt8]
        /// `keyId`, once checked to be the SHA-256 of the certificate's DER: names the certificate.
        var keyId: String
        var value: String
    }

    private struct State {
        var current: Set<Key> = []
        var previous: Set<Key> = []
        var signatureChecks = 0
        var hits = 0
    }

    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int = 1024) {
        precondition(limit >= 1)
        self.limit = limit
    }

    /// How many statement signatures were checked, and how many checks the cache saved.
    public var statistics: (signatureChecks: Int, hits: Int) {
        state.withLock { ($0.signatureChecks, $0.hits) }
    }

    /// The number of statements held.
    public var count: Int { state.withLock { $0.current.union($0.previous).count } }

    /// Forgets every verified statement (the counters stay).
    public func removeAll() {
        state.withLock {
            $0.current.removeAll()
            $0.previous.removeAll()
        }
    }

    /// Whether the statement verifies: from the cache, or by `check` (run outside the lock; two
    /// threads may both check a new statement once), whose success is then kept.
    func verified(_ key: Key, check: () -> Bool) -> Bool {
        let hit = state.withLock { state -> Bool in
            if state.current.contains(key) {
                state.hits += 1
                return true
            }
            if state.previous.remove(key) != nil {
                state.hits += 1
                Self.insert(key, into: &state, limit: limit)
                return true
            }
            state.signatureChecks += 1
            return false
        }
        if hit { return true }
        guard check() else { return false }
        state.withLock { Self.insert(key, into: &$0, limit: limit) }
        return true
    }

    private static func insert(_ key: Key, into state: inout State, limit: Int) {
        if state.current.count >= limit {
            state.previous = state.current
            state.current = []
        }
        state.current.insert(key)
    }
}

extension Signer {
    /// One signature over the batch statement of `messages` (the JCS bytes of the signed members,
    /// in batch order), and the `signature` member of each message carrying its `batch` proof.
    /// Empty for no messages.
    public func batchSignatures(over messages: [[UInt8]]) throws -> [SignatureBlock] {
        guard !messages.isEmpty else { return [] }
        let hash = algorithm.batchHash
        let (root, paths) = MerkleTree.build(leafHashes: messages.map { MerkleTree.leafHash(hash, $0) }, hash)
        let single = try signature(over: BatchStatement.bytes(root: root, size: messages.count))
        return paths.enumerated().map { index, path in
            var block = single
            block.batch = BatchProof(size: messages.count, index: index, path: path).json
            return block
        }
    }
}

extension SignatureBlock {
    /// Whether `signature` (the decoded `value`) signs `message` — directly, or through the batch
    /// statement `batch` folds to. Anything wrong with `batch` is `bad-signature`.
    func signatureVerifies(
        _ signature: [UInt8], message: [UInt8], certificate: Certificate, algorithm: SignatureAlgorithm, trust: TrustStore
    ) -> Result<Void, VerificationFailure> {
        guard let batch else {
            return certificate.publicKey.isValidSignature(signature, for: message)
                ? .success(()) : .failure(VerificationFailure(.badSignature, "signature does not verify"))
        }
        let proof: BatchProof
        do { proof = try BatchProof(json: batch) } catch { return .failure(error) }
        let hash = algorithm.batchHash
        guard let root = MerkleTree.root(
            leafHash: MerkleTree.leafHash(hash, message), index: proof.index, size: proof.size, path: proof.path, hash)
        else { return .failure(VerificationFailure(.badSignature, "signature.batch.path does not fold")) }
        let statement = BatchStatement.bytes(root: root, size: proof.size)
        let key = BatchStatementCache.Key(algorithm: algorithm, statement: statement, keyId: certificate.keyId, value: value)
        let verified = trust.batchStatements.verified(key) { certificate.publicKey.isValidSignature(signature, for: statement) }
        return verified ? .success(()) : .failure(VerificationFailure(.badSignature, "batch signature does not verify"))
    }
}

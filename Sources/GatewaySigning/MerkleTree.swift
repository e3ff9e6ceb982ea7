/// The Merkle tree of RFC 9162 section 2.1 that batch signatures use (envelope.md, "Batch
/// signatures"), over a hash `H` that follows the signature algorithm (SM3 or SHA-256):
/// leaf `H(0x00 || entry)`, interior node `H(0x01 || left || right)`.
public enum MerkleTree {
    /// The length of every node hash (SM3 and SHA-256 are both 32 bytes).
    public static let hashLength = 32

    /// `H(0x00 || entry)`: the hash of one leaf (for a batch: the JCS bytes of an `envelope` or
    /// `receipt` member).
    public static func leafHash(_ algorithm: DigestAlgorithm, _ entry: [UInt8]) -> [UInt8] {
        var input = [UInt8]()
        input.reserveCapacity(entry.count + 1)
        input.append(0x00)
        input.append(contentsOf: entry)
        return Digest.compute(algorithm, input)
    }

    /// `H(0x01 || left || right)`: the hash of an interior node.
    public static func nodeHash(_ algorithm: DigestAlgorithm, _ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var input = [UInt8]()
        input.reserveCapacity(1 + left.count + right.count)
        input.append(0x01)
        input.append(contentsOf: left)
        input.append(contentsOf: right)
        return Digest.compute(algorithm, input)
    }

    /// The Merkle Tree Hash (RFC 9162 section 2.1.1) of the leaves whose hashes are `leafHashes`,
    /// and the inclusion path of every leaf (section 2.1.3.1), bottom up. O(n log n) appends and
    /// n − 1 node hashes. `leafHashes` must not be empty (a batch has at least one item).
    public static func build(leafHashes: [[UInt8]], _ algorithm: DigestAlgorithm) -> (root: [UInt8], paths: [[[UInt8]]]) {
        precondition(!leafHashes.isEmpty, "a Merkle tree needs at least one leaf")
        var paths = [[[UInt8]]](repeating: [], count: leafHashes.count)
        // MTH(D[lo..<hi]); every leaf below gets the hash of its sibling subtree appended, children
        // first, so each path comes out bottom up as PATH(m, D[n]) defines it.
        func subtree(_ lo: Int, _ hi: Int) -> [UInt8] {
            if hi - lo == 1 { return leafHashes[lo] }
            let k = largestPowerOfTwo(below: hi - lo)
            let left = subtree(lo, lo + k)
            let right = subtree(lo + k, hi)
            for index in lo..<(lo + k) { paths[index].append(right) }
            for index in (lo + k)..<hi { paths[index].append(left) }
            return nodeHash(algorithm, left, right)
        }
        let root = subtree(0, leafHashes.count)
        return (root, paths)
    }

    /// The root that `path` folds into from leaf `index` of a tree of `size` leaves (RFC 9162
    /// section 2.1.3.2, steps 1–5, with the computed root returned instead of compared): nil when
    /// `index` is outside [0, size), an element is not a hash, or the path is too short or too long.
    public static func root(leafHash: [UInt8], index: Int, size: Int, path: [[UInt8]], _ algorithm: DigestAlgorithm) -> [UInt8]? {
        guard size >= 1, index >= 0, index < size else { return nil }
        var fn = index
        var sn = size - 1
        var node = leafHash
        for sibling in path {
            guard sn != 0, sibling.count == hashLength else { return nil }
            if fn & 1 == 1 || fn == sn {
                node = nodeHash(algorithm, sibling, node)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                node = nodeHash(algorithm, node, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 ? node : nil
    }

    /// The number of elements of the inclusion path of leaf `index` in a tree of `size` leaves.
    public static func pathLength(index: Int, size: Int) -> Int {
        precondition(size >= 1 && index >= 0 && index < size)
        var length = 0
        var lo = 0
        var hi = size
        while hi - lo > 1 {
            let k = largestPowerOfTwo(below: hi - lo)
            if index < lo + k { hi = lo + k } else { lo += k }
            length += 1
        }
        return length
    }

    /// The largest power of two strictly below `n` (n ≥ 2): RFC 9162's split point `k`.
    static func largestPowerOfTwo(below n: Int) -> Int {
        1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }
}

import Foundation

extension Envelope {
    /// Verifies envelopes as `verify(trust:at:)` does each (at the time paired with it, its
    /// `createdAt`), up to `width` at once (by default one per active processor): a node receiving
    /// a batch from a peer checks up to 200 signatures, about a millisecond each with SM2, which one
    /// core would do one after the other. The results are in the order of `envelopes`.
    public static func verifyEach(
        _ envelopes: [(envelope: Envelope, time: Date)], trust: TrustStore, width: Int = ProcessInfo.processInfo.activeProcessorCount
    ) async -> [Result<Certificate, VerificationFailure>] {
        let width = min(max(1, width), envelopes.count)
        guard width > 1 else { return envelopes.map { $0.envelope.verify(trust: trust, at: $0.time) } }
        var results = [Result<Certificate, VerificationFailure>?](repeating: nil, count: envelopes.count)
        await withTaskGroup(of: (Int, Result<Certificate, VerificationFailure>).self) { group in
            var next = 0
            func start() {
                let index = next, item = envelopes[index]
                next += 1
                group.addTask { (index, item.envelope.verify(trust: trust, at: item.time)) }
            }
            while next < width { start() }
            while let (index, result) = await group.next() {
                results[index] = result
                if next < envelopes.count { start() }
            }
        }
        return results.map { $0 ?? .failure(VerificationFailure(.badSignature, "not verified")) }
    }
}

import Foundation
import GatewayQueue

/// The check of `storedEnvelopes(ids:)` a driver's tests run on a fresh queue: after 250 stored
/// envelopes, looking up their ids with unknown ones (one with a quote) and a repeated one answers
/// exactly what `storedEnvelope(id:)` answers id by id, and nothing for no ids.
public enum StoredEnvelopesCheck {
    /// The problems found (empty when the driver passes).
    public static func problems(_ queue: any MessageQueue) async throws -> [String] {
        // 250: more than two of SQLite's steps of 100 ids, the last one partly empty.
        let items = (0..<250).map { n in
            EnqueueItem(
                envelopeId: "batch-e-\(n)", kind: "traffic-violation", recordId: "batch-\(n)", updatedAt: "2026-01-01T00:00:00Z",
                payloadDigest: "d\(n)", destinations: ["xinsheng", "liangping"], envelope: Array("{\"n\":\(n)}".utf8))
        }
        _ = try await queue.enqueue(submitter: "renshi", items: items)
        let ids = items.map(\.envelopeId) + ["unknown-1", "it's-unknown", "batch-e-7"]
        let found = try await queue.storedEnvelopes(ids: ids)
        var problems: [String] = []
        if found.count != items.count { problems.append("\(found.count) found of \(items.count) stored") }
        for id in Set(ids) where found[id] != (try await queue.storedEnvelope(id: id)) {
            problems.append("\(id): not what storedEnvelope(id:) answers")
        }
        if found["batch-e-3"]?.destinations != ["xinsheng", "liangping"] { problems.append("batch-e-3: destinations") }
        if !(try await queue.storedEnvelopes(ids: [])).isEmpty { problems.append("something found for no ids") }
        return problems
    }
}

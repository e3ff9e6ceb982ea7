import Foundation
import GatewayQueue

/// Replaying a selection of dead letters (the console's "replay the selected"): one transaction,
/// an answer per id.
extension Context {
    /// `replay(messageIds:)` replays every dead one of the batch, across destinations, and answers
    /// each other id with its refusal, changing nothing for it (run with maxDeliveries 1).
    func replayBatchSettlesEachItem() async throws {
        let items = (1...4).map { contractItem(recordId: "r\($0)", to: ["b"]) }
        let other = contractItem(recordId: "r5", to: ["c"])
        _ = try await queue.enqueue(submitter: "a", items: items + [other])
        for participant in ["b", "c"] {
            for leased in try await lease(participant) {
                try await queue.nack(participant: participant, leaseToken: leased.leaseToken, error: "HTTP 500")
            }
        }
        let deadB = try await queue.deadLetters(participant: "b")
        let deadC = try await queue.deadLetters(participant: "c")
        try check(deadB.count == 4 && deadC.count == 1, "dead after one failure: \(deadB.count) and \(deadC.count)")
        let live = contractItem(recordId: "r6", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [live])
        let liveId = try await queue.inbox(participant: "b", states: [.queued], after: nil, limit: 10).headers
            .first { $0.envelopeId == live.envelopeId }?.messageId
        guard let liveId else { throw QueueContractFailure(description: "the live message is not in b's inbox") }

        try check(try await queue.replay(messageIds: []).isEmpty, "an empty batch answers nothing")
        clock.advance(by: 5)
        let replayedAt = clock.now()
        let batch = [deadB[1].messageId, deadB[0].messageId, liveId, MessageID(999_999), deadB[1].messageId, deadC[0].messageId]
        let results = try await queue.replay(messageIds: batch)
        try check(results.map { $0?.code } == [nil, nil, .invalidState, .notFound, .invalidState, nil],
            "one answer per id, in order: \(results.map { $0.map { "\($0.code)" } ?? "replayed" })")
        try check(try await queue.deadLetters(participant: "b").map(\.messageId) == [deadB[2].messageId, deadB[3].messageId],
            "the two left out stay dead")
        try check(try await queue.deadLetters(participant: "c").isEmpty, "another destination's in the same batch")
        try check(try await queue.depths()["b"] == QueueDepth(queued: 3, leased: 0, dead: 2), "b: two replayed beside the live one")
        let refused = try await queue.replay(messageIds: [MessageID(999_998), liveId])
        try check(refused.map { $0?.code } == [.notFound, .invalidState], "a batch of refusals: \(refused)")
        try check(try await queue.depths()["b"] == QueueDepth(queued: 3, leased: 0, dead: 2), "and changes nothing")

        let again = try await lease("b")
        try check(Set(again.map(\.envelopeId)) == Set([items[0].envelopeId, items[1].envelopeId, live.envelopeId])
            && again.allSatisfy { $0.deliveryCount == 0 }, "replayed with the count reset: \(again.map(\.recordId))")
        let history = try await queue.history(envelopeId: items[1].envelopeId)
        try check(history.map(\.event) == [.queued, .leased, .nacked, .dead, .replayed, .leased], "history: \(history.map(\.event))")
        try check(history.first { $0.event == .replayed }.map { $0.at == replayedAt && $0.deliveryCount == 0 } == true,
            "replayed at the batch's time with the count reset")
        let liveHistory = try await queue.history(envelopeId: live.envelopeId).map(\.event)
        try check(liveHistory == [.queued, .leased], "the refused live one: \(liveHistory)")
    }
}

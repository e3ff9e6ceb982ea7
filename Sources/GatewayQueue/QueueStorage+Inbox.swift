import Foundation

/// The inbox read, written once over each driver's `headers`.
extension QueueStorage {
    /// Reads only (nothing is leased, reclaimed or recorded): the stored states are asked for, with
    /// `leased` added when `queued` or `dead` is wanted, since an expired lease is shown where
    /// reclaiming it will put it (as `depths` counts it).
    public func inbox(participant: String, states: Set<DeliveryState>, after: MessageID?, limit: Int) async throws -> InboxPage {
        try QueueValidation.check(inboxStates: states, limit: limit)
        let now = stored(configuration.clock.now())
        var storedStates = states
        if !states.isDisjoint(with: [.queued, .dead]) { storedStates.insert(.leased) }
        let rows = try await headers(destination: participant, states: storedStates, after: after, limit: limit)
        let policy = configuration.retry.for(participant)
        let headers = rows.compactMap { row -> MessageHeader? in
            var header = row
            _ = header.delivery.expireIfDue(now: now, policy: policy, random: 0)
            return states.contains(header.delivery.state) ? header : nil
        }
        return InboxPage(headers: headers, next: rows.count == limit ? rows.last?.messageId : nil)
    }
}

import Foundation

extension Gateway {
    /// What `/metrics` refreshes when it is read, besides the queue depths and certificates: the
    /// process metrics and, per participant, the age of its oldest queued or leased message
    /// (`xgw_queue_oldest_seconds`, 0 when it has none; peer outboxes have their own gauges,
    /// `xgw_federation_outbox_depth` and `_outbox_oldest_seconds`, refreshed here too).
    func refreshReadTimeMetrics(now: Date = Date()) async {
        metrics.refreshProcess()
        guard let oldest = try? await queue.oldestQueued() else { return }
        if directory != nil, let depths = try? await queue.depths() {
            refreshOutboxMetrics(depths: depths, oldest: oldest, at: now)
        }
        let outboxes = Set(peerOutboxes)
        var seen = Set<String>()
        for id in translator.seeds.participants.map(\.id) + oldest.keys.sorted() where !outboxes.contains(id) && seen.insert(id).inserted {
            metrics.queueOldest(participant: id, seconds: oldest[id].map { max(0, now.timeIntervalSince($0)) } ?? 0)
        }
    }
}

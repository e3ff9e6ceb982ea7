import Foundation
import Synchronization

/// Records submitted and rejected per submitter and format, in one-minute buckets over the last
/// hour, in memory: what the console's overview charts. (The Prometheus counters keep totals since
/// start, without the submitter.)
public final class SubmissionActivity: Sendable {
    struct Key: Hashable {
        var minute: Int
        var submitter: String
        var format: String
    }

    /// One format's sums over the last hour.
    struct Total: Sendable, Equatable {
        var format: String
        var submitted: Int
        var rejected: Int
    }

    private let buckets = Mutex<[Key: (submitted: Int, rejected: Int)]>([:])

    public init() {}

    /// A document's records: `submitted` of them (accepted, duplicate or rejected), `rejected` refused.
    func record(submitter: String, format: String, submitted: Int, rejected: Int, at time: Date = Date()) {
        guard submitted > 0 || rejected > 0 else { return }
        let minute = Self.minute(time)
        buckets.withLock { all in
            all = all.filter { $0.key.minute > minute - 60 }
            let key = Key(minute: minute, submitter: submitter, format: format)
            let old = all[key] ?? (0, 0)
            all[key] = (old.submitted + submitted, old.rejected + rejected)
        }
    }

    /// Per format, by name, the sums of the last 60 minutes: of `submitter` only, or of everyone (nil).
    func lastHour(submitter: String?, at time: Date = Date()) -> [Total] {
        let minute = Self.minute(time)
        var totals: [String: Total] = [:]
        buckets.withLock { all in
            for (key, value) in all where key.minute > minute - 60 && (submitter == nil || key.submitter == submitter) {
                var total = totals[key.format] ?? Total(format: key.format, submitted: 0, rejected: 0)
                total.submitted += value.submitted
                total.rejected += value.rejected
                totals[key.format] = total
            }
        }
        return totals.values.sorted { $0.format < $1.format }
    }

    static func minute(_ time: Date) -> Int { Int((time.timeIntervalSince1970 / 60).rounded(.down)) }
}

import Foundation
import GatewayQueue

/// A position in a submitter's receipts, which are listed by acked time (milliseconds, as the
/// queue stores it) and then message id: `<ackedAtMillis>-<messageId>`, e.g. `1689035400123-42`.
/// Paging with `after=<cursor>` resumes right after that receipt, however many receipts share its
/// millisecond (a time alone, `since`, cannot page past a millisecond holding more than `limit`).
public struct ReceiptCursor: Sendable, Hashable, CustomStringConvertible {
    public var ackedAtMillis: Int64
    public var messageId: Int64

    public init(ackedAtMillis: Int64, messageId: Int64) {
        self.ackedAtMillis = ackedAtMillis
        self.messageId = messageId
    }

    /// The cursor of a receipt.
    public init(_ receipt: StoredReceipt) {
        self.init(ackedAtMillis: Self.millis(receipt.ackedAt), messageId: receipt.messageId.rawValue)
    }

    /// Parses `<digits>-<digits>` (each an Int64); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }),
            let millis = Int64(parts[0]), let id = Int64(parts[1])
        else { return nil }
        self.init(ackedAtMillis: millis, messageId: id)
    }

    public var description: String { "\(ackedAtMillis)-\(messageId)" }

    /// The `after` query parameter of `GET /v1/receipts`: nil when absent, 400 when malformed or
    /// given with `since` (one position or the other).
    static func query(after: String?, since: String?) throws -> ReceiptCursor? {
        guard let after else { return nil }
        guard let cursor = ReceiptCursor(after) else {
            throw APIError.badRequest("after must be a receipt cursor (the next or cursor member of a receipts answer)")
        }
        guard since == nil else { throw APIError.badRequest("give since or after, not both") }
        return cursor
    }

    /// True when `receipt` comes after this position.
    func precedes(_ receipt: StoredReceipt) -> Bool {
        let millis = Self.millis(receipt.ackedAt)
        return millis > ackedAtMillis || (millis == ackedAtMillis && receipt.messageId.rawValue > messageId)
    }

    /// The millisecond a stored time stands for (stored times are whole milliseconds).
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// A time the queue reads as exactly `millis` (its `since` is "acked after", compared in whole
    /// milliseconds rounded down: half a millisecond above keeps a binary fraction off the edge).
    static func date(millis: Int64) -> Date { Date(timeIntervalSince1970: (Double(millis) + 0.5) / 1000) }

    /// Up to `limit` receipts of `submitter` after this position, in order. The queue lists those
    /// acked after a time: it is asked from the cursor's millisecond on, and asked for more while
    /// receipts the cursor has passed (same millisecond, lower id) fill the page.
    public func page(of queue: any MessageQueue, submitter: String, limit: Int) async throws -> [StoredReceipt] {
        let from = Self.date(millis: ackedAtMillis - 1)
        var fetch = limit
        while true {
            let rows = try await queue.receipts(submitter: submitter, since: from, limit: fetch)
            let after = rows.filter(precedes)
            if after.count >= limit || rows.count < fetch { return Array(after.prefix(limit)) }
            fetch = rows.count - after.count + limit
        }
    }

    /// `since` as the queue compares it: receipts acked in a later millisecond than `since` (a
    /// fraction below a millisecond counts as that millisecond).
    static func queueSince(_ since: Date) -> Date {
        date(millis: Int64((since.timeIntervalSince1970 * 1000 + 1e-4).rounded(.down)))
    }
}

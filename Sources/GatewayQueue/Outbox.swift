/// The outbox of a peer node (federation.md, Store and forward): the queue destination
/// `node:<id>`, leased by that peer's forwarder like any inbox. Three rules differ from an inbox's:
/// a dead message holds back the later messages of its recordId at that destination until it is
/// replayed or discarded (`LeaseSelection`), and an outbox's acked messages are transfers to a peer,
/// not receipts (`receipts(submitter:…)` leaves them out), and failed transfers (nacks, expiries)
/// never make an outbox message dead: a peer that is down for a week delays its messages, it does
/// not turn them into dead letters (only `deadLetter`, for a peer's `rejected`, does).
public enum Outbox {
    /// What every outbox destination starts with (compared byte for byte, as the SQL drivers do).
    public static let prefix = "node:"

    /// The outbox destination of node `node`.
    public static func destination(node: String) -> String { prefix + node }

    /// The node id of an outbox destination; nil when `destination` is not an outbox.
    public static func node(of destination: String) -> String? {
        guard isOutbox(destination) else { return nil }
        return String(decoding: destination.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }

    /// True when `destination` is a peer node's outbox.
    public static func isOutbox(_ destination: String) -> Bool {
        destination.utf8.starts(with: prefix.utf8)
    }
}

extension RetryPolicy {
    /// The policy for `destination`: this one for an inbox; for an outbox the same back-off with no
    /// limit on failed deliveries.
    public func `for`(_ destination: String) -> RetryPolicy {
        guard Outbox.isOutbox(destination) else { return self }
        var policy = self
        policy.maxDeliveries = .max
        return policy
    }
}

/// An error of a queue operation. The `message` names ids, states and counts only: never an
/// envelope's payload, a receipt's bytes or personal data.
public struct QueueError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, stable for callers to switch on.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The lease token is unknown, belongs to another participant, or was already settled
        /// (acked, nacked, expired and re-queued): the caller no longer holds the message.
        public static let staleLease = Code("stale-lease")
        /// The lease token is current but its visibility timeout has passed; the message goes back
        /// to the queue (as `expired`) and another lessee may receive it.
        public static let leaseExpired = Code("lease-expired")
        /// No message (or envelope) with that id.
        public static let notFound = Code("not-found")
        /// The operation does not apply to the message's current state (e.g. replaying a live message).
        public static let invalidState = Code("invalid-state")
        /// An argument is out of range or malformed (empty destinations, max ≤ 0, …).
        public static let invalidArgument = Code("invalid-argument")
        /// The same envelope id was submitted with a different (submitter, recordId, digest) key.
        public static let conflict = Code("conflict")
        /// The storage failed (I/O, corruption, busy); the operation did not take effect.
        public static let storage = Code("storage")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

import Foundation

/// Where a queue reads the time: the system clock in production, a hand-moved one in tests, so
/// visibility timeouts, back-off and retention can be tested without sleeping.
public protocol QueueClock: Sendable {
    func now() -> Date
}

/// The wall clock.
public struct SystemQueueClock: QueueClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to.
public final class ManualQueueClock: QueueClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }

    public func now() -> Date { lock.withLock { current } }

    public func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }

    public func set(_ date: Date) { lock.withLock { current = date } }
}

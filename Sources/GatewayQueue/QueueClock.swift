import Foundation
import Synchronization

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
public final class ManualQueueClock: QueueClock, Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }

    public func now() -> Date { current.withLock { $0 } }

    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }

    public func set(_ date: Date) { current.withLock { $0 = date } }
}

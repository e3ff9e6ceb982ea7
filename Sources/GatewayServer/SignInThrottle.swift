import Foundation
import NIOCore

/// The decisions of the sign-in rate limit, pure (no clock, no lock, no I/O: the caller passes
/// `now`), in the shape of postgres-nio's state machines; `SignInGuard` holds one behind a
/// `Mutex` for the API's bearer authentication and the console's sign-in form.
///
/// Failed attempts (a token that is not valid) are counted per client over a window that opens at
/// the client's first failure: after `maxFailures` of them the client is refused, its token not
/// even checked (a correct one included, or the refusal would tell a guess right from wrong),
/// until the window closes; then the count starts again. A valid token is never slowed, and does
/// not clear the count (a participant's token cannot be used to keep guessing the ops token). The
/// table is capped: past `capacity` clients, closed windows are dropped first, then the oldest
/// tenth, so that many addresses cannot grow it without bound.
struct SignInThrottle: Sendable {
    struct Limits: Sendable, Equatable {
        /// Failed attempts allowed per client and window.
        var maxFailures = 10
        /// Seconds from a client's first failure until its count starts again.
        var window: TimeInterval = 300
        /// Clients tracked at most.
        var capacity = 10_000
    }

    enum Decision: Sendable, Equatable {
        case allow
        /// Refused for this many more seconds (at least 1): the answer's `Retry-After`.
        case refuse(retryAfter: Int)
    }

    struct Entry: Sendable, Equatable {
        var windowStart: Date
        var failures: Int
    }

    let limits: Limits
    private(set) var entries: [String: Entry] = [:]

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether `client` may try a token at `now`.
    func decide(_ client: String, now: Date) -> Decision {
        guard let entry = entries[client], isOpen(entry, now: now), entry.failures >= limits.maxFailures else { return .allow }
        return .refuse(retryAfter: retryAfter(entry, now: now))
    }

    /// Counts a failed attempt of `client`; returns what its next attempt will meet (`refuse` when
    /// this failure used up the window's allowance).
    @discardableResult
    mutating func failed(_ client: String, now: Date) -> Decision {
        if var entry = entries[client], isOpen(entry, now: now) {
            entry.failures += 1
            entries[client] = entry
        } else {
            if entries[client] == nil && entries.count >= limits.capacity { makeRoom(now: now) }
            entries[client] = Entry(windowStart: now, failures: 1)
        }
        return decide(client, now: now)
    }

    private func isOpen(_ entry: Entry, now: Date) -> Bool {
        now.timeIntervalSince(entry.windowStart) < limits.window
    }

    private func retryAfter(_ entry: Entry, now: Date) -> Int {
        max(1, Int((entry.windowStart.addingTimeInterval(limits.window).timeIntervalSince(now)).rounded(.up)))
    }

    /// Drops closed windows; if none was, the oldest tenth of the table (at least one), so that a
    /// flood of new clients costs one sort per `capacity / 10` of them, not a scan each.
    private mutating func makeRoom(now: Date) {
        entries = entries.filter { isOpen($0.value, now: now) }
        guard entries.count >= limits.capacity else { return }
        let oldest = entries.sorted { $0.value.windowStart < $1.value.windowStart }.prefix(max(1, limits.capacity / 10))
        for (client, _) in oldest { entries.removeValue(forKey: client) }
    }

    /// The key a client is counted under: its IPv4 address (an IPv4-mapped IPv6 address as IPv4),
    /// the /64 prefix of an IPv6 address (one host usually holds a whole /64, so per address would
    /// give it 2^64 allowances), or `local` for a Unix socket or an unknown peer. No proxy header
    /// (`X-Forwarded-For`) is believed: a client could write any address there.
    static func client(_ address: SocketAddress?) -> String {
        switch address {
        case .v4?:
            return address?.ipAddress ?? "local"
        case .v6(let v6)?:
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes.prefix(10).allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return bytes[12...].map(String.init).joined(separator: ".")
            }
            let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            return groups.joined(separator: ":") + "::/64"
        default:
            return "local"
        }
    }
}

import Foundation
import GatewaySigning
import Synchronization

/// A signed-in console session: who, its CSRF token, when it ends.
struct ConsoleSession: Sendable {
    var principal: Principal
    /// Sent in every state-changing form (`_csrf`) and compared with this one.
    var csrf: String
    var createdAt: Date
    var lastSeenAt: Date
}

/// The server-side session store: random ids (32 bytes from the system generator, hex) to
/// sessions, in memory (a restart signs everyone out). A session ends after `idle` without a
/// request or `lifetime` after sign-in, whichever comes first, or at sign-out.
final class ConsoleSessions: Sendable {
    static let idle: TimeInterval = 30 * 60
    static let lifetime: TimeInterval = 8 * 3600
    /// More than this many live sessions: the oldest is dropped (a flood of sign-ins cannot grow memory without bound).
    static let maxSessions = 10_000

    private let sessions = Mutex<[String: ConsoleSession]>([:])

    init() {}

    /// A new session for `principal`; returns its id (the cookie's value).
    func create(_ principal: Principal, now: Date = Date()) -> (id: String, session: ConsoleSession) {
        let id = Self.randomHex()
        let session = ConsoleSession(principal: principal, csrf: Self.randomHex(), createdAt: now, lastSeenAt: now)
        sessions.withLock { all in
            Self.sweep(&all, now: now)
            if all.count >= Self.maxSessions, let oldest = all.min(by: { $0.value.createdAt < $1.value.createdAt })?.key {
                all.removeValue(forKey: oldest)
            }
            all[id] = session
        }
        return (id, session)
    }

    /// The live session of `id` (its idle time restarted), or nil when none or expired.
    func session(_ id: String?, now: Date = Date()) -> ConsoleSession? {
        guard let id, !id.isEmpty else { return nil }
        return sessions.withLock { all in
            guard var session = all[id] else { return nil }
            guard Self.isLive(session, now: now) else {
                all.removeValue(forKey: id)
                return nil
            }
            session.lastSeenAt = now
            all[id] = session
            return session
        }
    }

    func remove(_ id: String?) {
        guard let id else { return }
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { sessions.withLock { $0.count } }

    static func isLive(_ session: ConsoleSession, now: Date) -> Bool {
        now.timeIntervalSince(session.lastSeenAt) < idle && now.timeIntervalSince(session.createdAt) < lifetime
    }

    private static func sweep(_ all: inout [String: ConsoleSession], now: Date) {
        all = all.filter { isLive($0.value, now: now) }
    }

    /// 32 bytes of SystemRandomNumberGenerator (getrandom), as 64 lowercase hex digits.
    static func randomHex() -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    /// Compares two tokens in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        TokenStore.constantTimeEqual(Array(a.utf8), Array(b.utf8))
    }
}

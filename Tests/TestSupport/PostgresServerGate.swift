import Synchronization

/// The one PostgreSQL server of a test run (`.ci/postgres.sh`) is used by tests of several test
/// targets, which on Linux all run in one process, in parallel; a `.serialized` suite orders only
/// its own tests. A test that stops the server (the multi-node test's `pg_ctl stop`) runs
/// `exclusive`: it waits until every test that uses the server through `shared` has ended, and
/// holds new ones off until it is done. Without it, a test of another target that happened to run
/// during the restart failed ("did not answer within 10.0 seconds", or a submission answered 503).
///
/// First come, first served: a waiting `exclusive` holds off later `shared` runs, so it is not
/// starved. Waits count towards the waiting test's `.timeLimit`.
public final class PostgresServerGate: Sendable {
    /// The gate of the test run's server.
    static let server = PostgresServerGate()

    /// Runs `body` while no test stops the test run's PostgreSQL server.
    public static func shared<R>(_ body: () async throws -> R) async rethrows -> R { try await server.shared(body) }

    /// Runs `body`, which may stop and start the test run's PostgreSQL server, while no other test uses it.
    public static func exclusive<R>(_ body: () async throws -> R) async rethrows -> R { try await server.exclusive(body) }

    private struct State {
        var users = 0
        var stopping = false
        var waiting: [(exclusive: Bool, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// How many runs wait for their turn.
    public var waiting: Int { state.withLock { $0.waiting.count } }

    /// Runs `body` while no `exclusive` run holds this gate.
    public func shared<R>(_ body: () async throws -> R) async rethrows -> R {
        await acquire(exclusive: false)
        defer { release(exclusive: false) }
        return try await body()
    }

    /// Runs `body` while no other run holds this gate.
    public func exclusive<R>(_ body: () async throws -> R) async rethrows -> R {
        await acquire(exclusive: true)
        defer { release(exclusive: true) }
        return try await body()
    }

    private func acquire(exclusive: Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.waiting.isEmpty, !state.stopping, !exclusive || state.users == 0 else {
                    state.waiting.append((exclusive, continuation))
                    return false
                }
                if exclusive { state.stopping = true } else { state.users += 1 }
                return true
            }
            if now { continuation.resume() }
        }
    }

    private func release(exclusive: Bool) {
        let admitted = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if exclusive { state.stopping = false } else { state.users -= 1 }
            var admitted: [CheckedContinuation<Void, Never>] = []
            while let next = state.waiting.first, !state.stopping {
                if next.exclusive {
                    guard state.users == 0 else { break }
                    state.stopping = true
                } else {
                    state.users += 1
                }
                admitted.append(next.continuation)
                state.waiting.removeFirst()
            }
            return admitted
        }
        for continuation in admitted { continuation.resume() }
    }
}

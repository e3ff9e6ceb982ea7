import GRDB

/// Group commit for concurrent callers: calls that arrive while a transaction is being written
/// (and fsynced) wait and then run together in the next one, each inside its own savepoint, so
/// each call stays all-or-nothing while the whole group costs one commit and one fsync.
/// A call that throws rolls back its savepoint only; if the commit itself fails, every call of the
/// group gets the error (none of them took effect).
actor GroupCommitter {
    private struct Job: Sendable {
        let body: @Sendable (Database) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private let pool: DatabasePool
    private var waiting: [Job] = []
    private var draining = false

    init(pool: DatabasePool) { self.pool = pool }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let value = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            waiting.append(Job(body: { try body($0) }, continuation: continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
        guard let typed = value as? T else { throw CancellationError() }
        return typed
    }

    private func drain() async {
        while !waiting.isEmpty {
            let jobs = waiting
            waiting = []
            do {
                let outcomes = try await pool.write { db in
                    // A lone call needs no savepoint: its error rolls the whole transaction back,
                    // which is exactly its own changes. (Inside a savepoint SQLite keeps a
                    // statement journal of every page the call changes.)
                    if jobs.count == 1 { return [Result<any Sendable, any Error>.success(try jobs[0].body(db))] }
                    return jobs.map { job in
                        Result<any Sendable, any Error> {
                            var value: (any Sendable)?
                            try db.inSavepoint {
                                value = try job.body(db)
                                return .commit
                            }
                            return value!
                        }
                    }
                }
                for (job, outcome) in zip(jobs, outcomes) { job.continuation.resume(with: outcome) }
            } catch {
                for job in jobs { job.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}

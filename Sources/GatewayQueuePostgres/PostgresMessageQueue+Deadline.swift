import Foundation
import GatewayQueue
import Logging
import PostgresNIO
import Synchronization

/// Connections, transactions and the deadline of every call.
extension PostgresMessageQueue {
    /// One transaction on one pooled connection (within the call's deadline): committed when
    /// `body` returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let value = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return value
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Runs `body` on a pooled connection within `timeout` (default `settings.timeout`), counted
    /// from the call: waiting for a connection and every statement on it. Past the deadline the
    /// call throws `.storage` at once, whatever the work is doing: the work is cancelled (which
    /// withdraws a wait for a connection) and the connection in use is closed (its statement fails
    /// and the pool replaces the connection). PostgresNIO statements do not react to task
    /// cancellation, and a structured child would make the caller wait for them anyway, so the
    /// work runs in a task of its own and the caller is answered by whichever comes first. No
    /// call goes through `PostgresClient.query`, whose lease is not given back when its row
    /// stream fails before it is handed over.
    func withConnection<T: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let timeout = timeout ?? settings.timeout
        let client = client
        let inUse = ConnectionInUse()
        let race = Race<T>()
        let logger = logger
        let started = ContinuousClock.now
        return try await storageErrors {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let timer = Task {
                    try await Task.sleep(for: timeout)
                    if race.finish(.failure(QueueError(.storage, "the database did not answer within \(timeout)"))) {
                        inUse.expire()
                        race.cancelWork()
                    }
                }
                race.work = Task {
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await client.withConnection { connection in
                            try inUse.start(connection)
                            defer { inUse.finish() }
                            return try await body(connection)
                        })
                    } catch {
                        result = .failure(error)
                    }
                    timer.cancel()
                    if !race.finish(result) {
                        logger.warning(
                            "a database call ended after its deadline",
                            metadata: ["seconds": .stringConvertible((ContinuousClock.now - started).components.seconds)])
                    }
                }
            }
        }
    }

    /// Queue errors pass; a unique violation of an envelope id is `.conflict`; anything else
    /// (connection, server) becomes `.storage` with the SQLSTATE only — never SQL arguments or the
    /// server's detail text, which may quote payload values.
    private func storageErrors<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as QueueError {
            throw error
        } catch let error as PSQLError {
            let state = error.serverInfo?[.sqlState]
            if state == "23505", error.serverInfo?[.constraintName] == "envelope_pkey" {
                throw QueueError(.conflict, "an envelope id is already stored under another key")
            }
            if let state {
                throw QueueError(.storage, "PostgreSQL error \(state)")
            }
            throw QueueError(.storage, "PostgreSQL connection: \(error.code)")
        } catch is CancellationError {
            throw QueueError(.storage, "cancelled")
        } catch {
            throw QueueError(.storage, String(describing: type(of: error)))
        }
    }
}

/// A call's answer: its work's result or its deadline, whichever comes first (once).
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var task: Task<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) { state.withLock { $0.continuation = continuation } }

    /// The work's task (cancelled at once when the deadline passed before it was set).
    var work: Task<Void, Never>? {
        get { state.withLock { $0.task } }
        set {
            let cancel = state.withLock {
                $0.task = newValue
                return $0.cancelled
            }
            if cancel { newValue?.cancel() }
        }
    }

    func cancelWork() {
        let current = state.withLock {
            $0.cancelled = true
            return $0.task
        }
        current?.cancel()
    }

    /// Answers the caller unless already answered; returns whether this call did.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let waiting = state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        waiting?.resume(with: result)
        return waiting != nil
    }
}

/// The connection a call is using, so that its deadline can close it.
private final class ConnectionInUse: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var expired = false
    }

    private let state = Mutex(State())

    /// Records the connection; closes it and throws when the deadline has already passed.
    func start(_ connection: PostgresConnection) throws {
        let late = state.withLock {
            if !$0.expired { $0.connection = connection }
            return $0.expired
        }
        if late {
            PostgresMessageQueue.close(connection)
            throw QueueError(.storage, "the call's deadline passed while it waited for a connection")
        }
    }

    func finish() { state.withLock { $0.connection = nil } }

    /// The deadline passed: closes the connection in use, if any.
    func expire() {
        let current = state.withLock {
            $0.expired = true
            return $0.connection
        }
        if let current { PostgresMessageQueue.close(current) }
    }
}

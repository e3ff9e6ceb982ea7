import GatewayQueue
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GatewayQueuePostgres
import GatewayQueueSQLite
import Logging
import ServiceLifecycle

/// The one place that turns `database` into a queue: SQLite for `sqlite:` (opened here, nothing
/// to run), PostgreSQL for `postgres://` (its connection pool runs as a service of
/// the server's service group, which also migrates the schema at start).
enum QueueDriver {
    static func open(_ configuration: ServerConfiguration, logger: Logger) throws -> (queue: any MessageQueue, service: (any Service)?) {
        let queueConfiguration = QueueConfiguration(retry: configuration.retry, retention: configuration.retentionDays * 86_400)
        switch try configuration.queueDatabase() {
        case .sqlite(let path):
            try restrictToOwner(path, logger: logger)
            return (try SQLiteMessageQueue(path: path, configuration: queueConfiguration), nil)
        case .postgres(let settings):
            let queue = PostgresMessageQueue(
                settings: settings, configuration: queueConfiguration, logger: Logger(label: "xgw.queue.postgres"))
            return (queue, PostgresQueueService(queue: queue, logger: logger))
        }
    }
}

/// The SQLite file holds names and ID numbers in clear: it is made 0600 before SQLite opens it
/// (SQLite gives its -wal and -shm files the database file's mode), whatever the folder's mode,
/// and an existing file readable by others is narrowed to 0600 (with a notice).
func restrictToOwner(_ path: String, logger: Logger) throws {
    for file in [path, path + "-wal", path + "-shm"] {
        var status = stat()
        if stat(file, &status) == 0 {
            guard status.st_mode & 0o077 != 0 else { continue }
            if chmod(file, 0o600) == 0 {
                logger.notice("narrowed the database file's mode to 0600", metadata: ["file": .string(file)])
            }
        } else if file == path {
            let fd = open(file, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            guard fd >= 0 || errno == EEXIST else {
                throw ServerConfigurationError("database: cannot create \(file) (errno \(errno))")
            }
            if fd >= 0 { close(fd) }
        }
    }
}

/// Runs a `PostgresMessageQueue` for the server's lifetime and migrates its schema at start. While
/// the database is unreachable or not yet migrated, `ping()` fails, so `/readyz` answers 503;
/// migration is retried every second until it succeeds (nodes starting together on an empty
/// database migrate once: `migrate()` holds an advisory lock). The service stops after the HTTP
/// server has (it comes before the server in the service group).
struct PostgresQueueService: Service {
    let queue: PostgresMessageQueue
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await queue.run() }
                group.addTask { await migrate() }
            }
        }
    }

    private func migrate() async {
        // Let the pool's run() start first (a lease before it only logs a warning, but a misleading one).
        try? await Task.sleep(for: .milliseconds(20))
        var attempts = 0
        while !Task.isCancelled {
            do {
                let applied = try await queue.migrate()
                logger.notice(
                    "PostgreSQL queue ready",
                    metadata: ["database": .string(queue.settings.description), "migrations applied": .string(applied.isEmpty ? "none" : applied.map(String.init).joined(separator: ","))])
                return
            } catch {
                attempts += 1
                if attempts == 1 || attempts % 30 == 0 {
                    logger.warning(
                        "PostgreSQL not reachable yet; retrying every second (readyz answers 503)",
                        metadata: ["database": .string(queue.settings.description), "error": .string("\(error)"), "attempts": .stringConvertible(attempts)])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

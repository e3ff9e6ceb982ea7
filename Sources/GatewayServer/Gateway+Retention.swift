import Foundation
import GatewayQueue
import Logging

extension ServerConfiguration {
    /// The retention archive: `<data>/archive` (docs/server.md, Retention and the archive).
    public var archivePath: String { dataDirectory + "/archive" }
}

extension Gateway {
    /// Messages per purge batch: each batch is archived (fsynced, manifest committed) before the
    /// queue deletes it; with PostgreSQL the batch is held under the purge lock meanwhile.
    static let purgeBatch = 500

    /// Purges acked messages acked more than `retentionDays` before `now`, archiving each batch
    /// first (`RetentionArchive` in `archivePath`). With PostgreSQL one node purges at a time:
    /// another node's purge meanwhile does nothing. Throws when the archive refuses a write (the
    /// batch stays in the queue). Returns messages purged.
    @discardableResult
    public func purgeExpired(at now: Date = Date()) async throws -> Int {
        let cutoff = now - configuration.retentionDays * 86_400
        let archive = RetentionArchive(folder: configuration.archivePath)
        let logger = logger
        let purged = try await queue.purgeAll(before: cutoff, limit: Self.purgeBatch) { batch in
            let written = try archive.write(batch)
            logger.info(
                "archived acked messages before purging them",
                metadata: [
                    "archived": .stringConvertible(written.records), "alreadyArchived": .stringConvertible(written.alreadyArchived),
                    "files": .array(written.files.map { .string($0) }), "archive": .string(archive.folder),
                ])
        }
        if purged > 0 {
            logger.notice(
                "purged acked messages past the retention",
                metadata: [
                    "purged": .stringConvertible(purged), "retentionDays": .stringConvertible(configuration.retentionDays),
                    "archive": .string(archive.folder),
                ])
        }
        return purged
    }
}

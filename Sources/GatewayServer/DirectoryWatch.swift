import Foundation
import ServiceLifecycle
import UnixSignals

/// Node mode: looks at the directory file every few seconds (its modification time) and reads it
/// at once on SIGHUP, adopting it only if it passes acceptance. SIGHUP no longer stops the server.
struct DirectoryWatch: Service {
    let directory: NodeDirectory

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in signals {
                        directory.logger.notice("SIGHUP: reading the directory file", metadata: ["file": .string(directory.node.directory)])
                        directory.reload()
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: directory.recheckInterval)
                        directory.refreshIfDue()
                        _ = directory.isStale()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}

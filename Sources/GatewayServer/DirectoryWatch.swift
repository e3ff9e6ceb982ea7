import Foundation
import ServiceLifecycle

/// Node mode: looks at the directory file every few seconds (its modification time), adopting it
/// only if it passes acceptance. SIGHUP (read the file at once) is `HangupReload`'s, with the
/// mappings, routes and CRLs.
struct DirectoryWatch: Service {
    let directory: NodeDirectory

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: directory.recheckInterval)
                directory.refreshIfDue()
                _ = directory.isStale()
            }
        }
    }
}

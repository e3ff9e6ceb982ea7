import Foundation
import Synchronization

/// Whether files changed on disk, by their modification times, looked at no more often than once
/// per `interval` (a few `stat` calls): what `SigningKeys` (the PKI files) and `NodeDirectory`
/// (the directory file) use to notice an edit without a restart.
final class FileChangeCheck: Sendable {
    let paths: [String]
    let interval: Duration

    private struct State {
        var checked: ContinuousClock.Instant
        var recorded: [String: Date]
    }

    private let state: Mutex<State>

    /// `recorded`: the times of what the caller read (default: the files' times now).
    init(paths: [String], interval: Duration, recorded: [String: Date]? = nil) {
        self.paths = paths
        self.interval = interval
        state = Mutex(State(checked: .now, recorded: recorded ?? Self.stamps(of: paths)))
    }

    /// The files' current times when a look is due and they differ from the recorded ones; nil
    /// otherwise. The caller reads the files and then `record`s what it read (or not, to look
    /// again at the next interval).
    func changed() -> [String: Date]? {
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            guard now - state.checked >= interval else { return false }
            state.checked = now
            return true
        }
        guard due else { return nil }
        let current = Self.stamps(of: paths)
        return current == state.withLock({ $0.recorded }) ? nil : current
    }

    /// Records the times of what was read.
    func record(_ stamps: [String: Date]) {
        state.withLock { $0.recorded = stamps }
    }

    /// The modification times of the files that exist.
    static func stamps(of paths: [String]) -> [String: Date] {
        var stamps: [String: Date] = [:]
        for path in paths {
            if let date = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date {
                stamps[path] = date
            }
        }
        return stamps
    }
}

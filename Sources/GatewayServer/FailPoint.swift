#if DEBUG
import Foundation

/// Named crash points for the crash tests, in debug builds only (the tests run the debug `xgw`):
/// `XGW_FAILPOINTS=name,name` makes the process kill itself with SIGKILL when it reaches one of
/// them, at a moment no outside signal can hit reliably (between two steps microseconds apart). A
/// release build compiles every point to nothing and reads no environment variable.
enum FailPoint {
    /// A connector has handed a document over (renamed into the drop folder, or a 2xx to its
    /// POST) and has not acked it yet.
    static let afterDelivery = "connector.after-delivery"

    static let active: Set<String> = Set(
        (ProcessInfo.processInfo.environment["XGW_FAILPOINTS"] ?? "").split(separator: ",").map { String($0) })

    /// Kills the process with SIGKILL when `name` is active: no clean-up, no flush, as a crash.
    static func crash(_ name: String) {
        if active.contains(name) { kill(getpid(), SIGKILL) }
    }
}
#else
enum FailPoint {
    static let afterDelivery = "connector.after-delivery"
    @inline(__always) static func crash(_ name: String) {}
}
#endif

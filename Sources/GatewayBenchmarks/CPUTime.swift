import Foundation

/// CPU time, for per-record costs that other processes on the machine do not inflate.
public enum CPUTime {
    /// The calling thread's.
    public static func thread() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }
    /// The whole process's (all threads, e.g. a database writer thread too).
    public static func process() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

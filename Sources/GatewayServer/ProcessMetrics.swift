import Foundation
import Prometheus
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics of a Prometheus client, read from /proc/self (Linux) each
/// time `/metrics` is read: resident and virtual memory, CPU seconds, open and maximum
/// descriptors, start time.
final class ProcessMetrics: Sendable {
    /// CPU seconds already added to the `process_cpu_seconds_total` counter.
    private let countedCPU = Mutex<Double>(0)

    /// What /proc/self says now; nil fields where it could not be read.
    struct Sample: Equatable {
        var residentBytes: Double?
        var virtualBytes: Double?
        var cpuSeconds: Double?
        var startTime: Double?
        var openFDs: Double?
        var maxFDs: Double?
    }

    static func sample() -> Sample {
        var sample = Sample()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after "(comm)": state is field 3, so field n is at index n - 3.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ n: Int) -> Double? { fields.count > n - 3 ? Double(fields[n - 3]) : nil }
            if let user = field(14), let system = field(15), ticks > 0 { sample.cpuSeconds = (user + system) / ticks }
            if let virtual = field(23) { sample.virtualBytes = virtual }
            if let rss = field(24) { sample.residentBytes = rss * pageSize }
            if let start = field(22), ticks > 0, let boot = bootTime() { sample.startTime = boot + start / ticks }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            sample.openFDs = Double(fds.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { sample.maxFDs = Double(limit.rlim_cur) }
        return sample
    }

    /// `btime` of /proc/stat: when the system booted, in seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Reads /proc/self and records it in `registry`.
    func refresh(registry: PrometheusCollectorRegistry) {
        let sample = Self.sample()
        let gauges: [(String, String, Double?)] = [
            ("process_resident_memory_bytes", "Resident memory size in bytes.", sample.residentBytes),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes.", sample.virtualBytes),
            ("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", sample.startTime),
            ("process_open_fds", "Number of open file descriptors.", sample.openFDs),
            ("process_max_fds", "Maximum number of open file descriptors.", sample.maxFDs),
        ]
        for (name, help, value) in gauges {
            if let value { registry.makeGauge(name: name, help: help).set(value) }
        }
        let cpu = registry.makeCounter(name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
        if let seconds = sample.cpuSeconds {
            countedCPU.withLock { counted in
                if seconds > counted {
                    cpu.increment(by: seconds - counted)
                    counted = seconds
                }
            }
        }
    }
}

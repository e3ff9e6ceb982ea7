import Foundation
import GatewayModel
import GatewayServer
import TestSupport
import Testing

/// Issue 16 item 18: `/metrics` gives a HELP line for every `xgw_*` metric, the standard
/// `process_*` metrics read from /proc/self, and per participant the age of its oldest queued
/// message (what an alert would watch). Runs the gateway as `xgw serve` builds it, in process.
@Suite struct MetricsExpositionTests {
    /// The value of the exposition line that starts with `series` and a space.
    static func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
    }

    @Test func everyGatewayMetricHasHelpProcessMetricsAndTheOldestQueuedAge() async throws {
        let gateway = try APIGateway.temporary()
        defer { gateway.remove() }
        try await gateway.run { client, server in
            let tokens = server.tokensByName
            let xinsheng = try #require(tokens["xinsheng"]), renshi = try #require(tokens["renshi"])
            let started = Date()
            let submitted = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "mx1", count: 2))
            #expect(submitted.status == 200, "\(submitted.text)")
            // Exercise a lease and a refused record too, so that their metrics exist.
            _ = try await client.call("POST", "/v1/documents", token: xinsheng, body: Array("{".utf8))
            try await Task.sleep(for: .milliseconds(1200))
            let text = try await client.call("GET", "/metrics").text
            let lease = try await client.call("POST", "/v1/inbox/lease", token: xinsheng)
            #expect(lease.status == 200, "\(lease.text)")
            let afterLease = try await client.call("GET", "/metrics").text

            // HELP for every xgw_* family (TYPE lines name every family emitted).
            for exposition in [text, afterLease] {
                let lines = exposition.split(separator: "\n").map(String.init)
                let families = lines.filter { $0.hasPrefix("# TYPE xgw_") }.map { $0.split(separator: " ")[2] }
                #expect(families.count >= 5, "\(families)")
                for family in families {
                    let help = lines.first { $0.hasPrefix("# HELP \(family) ") }
                    #expect(help.map { $0.count > "# HELP \(family) ".count + 10 } == true, "no HELP for \(family)")
                }
            }
            for family in ["xgw_records_total", "xgw_queue_depth", "xgw_queue_oldest_seconds", "xgw_http_request_duration_seconds"] {
                #expect(text.contains("# HELP \(family) "), "no HELP for \(family)")
            }
            #expect(afterLease.contains("# HELP xgw_lease_duration_seconds "))

            // Process metrics, read from /proc/self when /metrics is read.
            let rss = try #require(Self.value(text, "process_resident_memory_bytes"), "\(text)")
            #expect(rss > 1_000_000)
            let fds = try #require(Self.value(text, "process_open_fds"))
            #expect(fds >= 3)
            let start = try #require(Self.value(text, "process_start_time_seconds"))
            #expect(start <= Date().timeIntervalSince1970 + 1 && start > Date().timeIntervalSince1970 - 86_400 * 7)
            let cpu = try #require(Self.value(text, "process_cpu_seconds_total"))
            #expect(cpu > 0)
            #expect(text.contains("# HELP process_cpu_seconds_total "))
            #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
            let cpuLater = try #require(Self.value(afterLease, "process_cpu_seconds_total"))
            #expect(cpuLater >= cpu)

            // The oldest queued message of renshi is as old as the wait; xinsheng has none.
            let oldest = try #require(Self.value(text, #"xgw_queue_oldest_seconds{participant="renshi"}"#), "\(text)")
            #expect(oldest >= 1.0 && oldest <= Date().timeIntervalSince(started) + 1, "\(oldest)")
            #expect(Self.value(text, #"xgw_queue_oldest_seconds{participant="xinsheng"}"#) == 0)
            // A message renshi leases still counts (it is not done until acked).
            let leased = try await client.call("POST", "/v1/inbox/lease", token: renshi)
            #expect(leased.status == 200, "\(leased.text)")
            let later = try await client.call("GET", "/metrics").text
            #expect((Self.value(later, #"xgw_queue_oldest_seconds{participant="renshi"}"#) ?? 0) >= oldest)
        }
    }
}

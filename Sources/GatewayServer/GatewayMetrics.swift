import CoreMetrics
import Foundation
import Prometheus

/// The gateway's metrics (swift-metrics over a swift-prometheus registry, served at `/metrics`):
/// records by format/outcome/code, queue depth per participant and state, lease and request
/// latency histograms.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.defaultDurationHistogramBuckets = buckets
        self.factory = factory
    }

    /// A record accepted (`outcome` accepted or duplicate) or rejected (`code` its first error).
    func record(format: String, outcome: String, code: String = "", count: Int = 1) {
        guard count > 0 else { return }
        CoreMetrics.Counter(
            label: "xgw_records_total", dimensions: [("format", format), ("outcome", outcome), ("code", code)], factory: factory
        ).increment(by: count)
    }

    func request(method: String, route: String, status: Int, nanoseconds: Int64) {
        CoreMetrics.Timer(
            label: "xgw_http_request_duration_seconds",
            dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory
        ).recordNanoseconds(nanoseconds)
    }

    func lease(nanoseconds: Int64, messages: Int) {
        CoreMetrics.Timer(label: "xgw_lease_duration_seconds", factory: factory).recordNanoseconds(nanoseconds)
        CoreMetrics.Counter(label: "xgw_leased_messages_total", factory: factory).increment(by: messages)
    }

    func queueDepth(participant: String, state: String, value: Int) {
        CoreMetrics.Gauge(label: "xgw_queue_depth", dimensions: [("participant", participant), ("state", state)], factory: factory)
            .record(value)
    }

    /// A hosted participant's signing certificate: seconds until it expires (negative once it
    /// has), and whether it may sign now (0 when revoked, expired or untrusted).
    func certificate(participant: String, secondsToExpiry: Double, usable: Bool) {
        CoreMetrics.Gauge(label: "xgw_certificate_expiry_seconds", dimensions: [("participant", participant)], factory: factory)
            .record(secondsToExpiry)
        CoreMetrics.Gauge(label: "xgw_certificate_usable", dimensions: [("participant", participant)], factory: factory)
            .record(usable ? 1 : 0)
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

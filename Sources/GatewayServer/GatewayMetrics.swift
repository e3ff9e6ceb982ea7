import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The gateway's metrics (swift-metrics over a swift-prometheus registry, served at `/metrics`):
/// records by format/outcome/code, queue depth per participant and state, lease and request
/// latency histograms.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// Every handle made so far, by label and dimensions: each is made once, then reused.
    private let handles = Mutex<[HandleKey: any Sendable]>([:])
    /// The last hour's submissions per submitter and format, for the console's overview chart.
    public let submissionActivity = SubmissionActivity()

    private struct HandleKey: Hashable {
        var label: String
        var dimensions: [String]
    }

    /// The handle for `label` and `dimensions`, made by `make` the first time.
    private func handle<Handle: Sendable>(
        _ label: String, _ dimensions: [(String, String)], make: (String, [(String, String)]) -> Handle
    ) -> Handle {
        let key = HandleKey(label: label, dimensions: dimensions.flatMap { [$0.0, $0.1] })
        return handles.withLock { handles in
            if let found = handles[key] as? Handle { return found }
            let made = make(label, dimensions)
            handles[key] = made
            return made
        }
    }

    private func counter(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        handle(label, dimensions) {
            CoreMetrics.Counter(
                label: $0, dimensions: $1, handler: registry.makeCounter(name: $0, labels: $1, help: Self.help($0)), factory: factory)
        }
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        handle(label, dimensions) {
            CoreMetrics.Gauge(
                label: $0, dimensions: $1, aggregate: false, handler: registry.makeGauge(name: $0, labels: $1, help: Self.help($0)),
                factory: factory)
        }
    }

    private func timer(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Timer {
        handle(label, dimensions) {
            CoreMetrics.Timer(
                label: $0, dimensions: $1,
                handler: registry.makeDurationHistogram(
                    name: $0, labels: $1, buckets: factory.defaultDurationHistogramBuckets, help: Self.help($0)),
                factory: factory)
        }
    }

    /// Told of each node-to-node transfer as it is recorded (peer, seconds, messages of the batch):
    /// how `xgw bench federation` reads exact p50/p99 rather than histogram buckets.
    let transferObserver: (@Sendable (_ peer: String, _ seconds: Double, _ messages: Int) -> Void)?

    public init(
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        transferObserver: (@Sendable (_ peer: String, _ seconds: Double, _ messages: Int) -> Void)? = nil
    ) {
        self.registry = registry
        self.transferObserver = transferObserver
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
        counter("xgw_records_total", [("format", format), ("outcome", outcome), ("code", code)]).increment(by: count)
    }

    func request(method: String, route: String, status: Int, nanoseconds: Int64) {
        timer("xgw_http_request_duration_seconds", [("method", method), ("route", route), ("status", String(status))])
            .recordNanoseconds(nanoseconds)
    }

    func lease(nanoseconds: Int64, messages: Int) {
        timer("xgw_lease_duration_seconds").recordNanoseconds(nanoseconds)
        counter("xgw_leased_messages_total").increment(by: messages)
    }

    func queueDepth(participant: String, state: String, value: Int) {
        gauge("xgw_queue_depth", [("participant", participant), ("state", state)]).record(value)
    }

    /// A hosted participant's signing certificate: seconds until it expires (negative once it
    /// has), and whether it may sign now (0 when revoked, expired or untrusted).
    func certificate(participant: String, secondsToExpiry: Double, usable: Bool) {
        gauge("xgw_certificate_expiry_seconds", [("participant", participant)]).record(secondsToExpiry)
        gauge("xgw_certificate_usable", [("participant", participant)]).record(usable ? 1 : 0)
    }

    /// The directory a node holds: its serial, and 1 when it is past its nextUpdate.
    func directory(serial: Int, stale: Bool) {
        gauge("xgw_federation_directory_serial").record(serial)
        gauge("xgw_federation_directory_stale").record(stale ? 1 : 0)
    }

    /// One item of a node-to-node transfer, sent or received: `result` accepted, duplicate,
    /// rejected, or failed (a transfer that did not get an answer).
    func transfer(peer: String, result: String, count: Int = 1) {
        guard count > 0 else { return }
        counter("xgw_federation_transfers_total", [("peer", peer), ("result", result)]).increment(by: count)
    }

    /// One transfer of a batch to a peer (its POSTs and the settling of its messages) took `nanoseconds`.
    func transferDuration(peer: String, nanoseconds: Int64, messages: Int) {
        timer("xgw_federation_transfer_seconds", [("peer", peer)]).recordNanoseconds(nanoseconds)
        transferObserver?(peer, Double(nanoseconds) / 1e9, messages)
    }

    /// A peer's outbox: messages waiting (queued or in flight) and the age of the oldest.
    func outbox(peer: String, depth: Int, oldestSeconds: Double) {
        gauge("xgw_federation_outbox_depth", [("peer", peer)]).record(depth)
        gauge("xgw_federation_outbox_oldest_seconds", [("peer", peer)]).record(oldestSeconds)
    }

    /// The `# HELP` text of each `xgw_*` metric (made through the registry's own `make*` calls,
    /// since swift-metrics' factory path carries no help). A metric missing here gets no HELP
    /// line, which `MetricsExpositionTests` catches.
    static let helpTexts: [String: String] = [
        "xgw_records_total": "Records submitted, by format, outcome (accepted, duplicate, rejected) and the first error code of a rejection.",
        "xgw_http_request_duration_seconds": "Office API request latency, by method, route and status.",
        "xgw_lease_duration_seconds": "Time taken by a lease (GET /v1/messages) to return.",
        "xgw_leased_messages_total": "Messages handed out by leases.",
        "xgw_queue_depth": "Messages per participant and state (queued, leased, dead, acked), refreshed when /metrics is read.",
        "xgw_queue_oldest_seconds": "Age in seconds of the oldest queued or leased message per participant (0 when none), refreshed when /metrics is read.",
        "xgw_certificate_expiry_seconds": "Seconds until a hosted participant's signing certificate expires (negative once it has).",
        "xgw_certificate_usable": "1 when a hosted participant's certificate may sign now, 0 when revoked, expired or untrusted.",
        "xgw_federation_directory_serial": "Serial of the node directory this node holds.",
        "xgw_federation_directory_stale": "1 when the held node directory is past its nextUpdate.",
        "xgw_federation_transfers_total": "Items of node-to-node transfers, by peer and result (accepted, duplicate, rejected, failed).",
        "xgw_federation_transfer_seconds": "Duration of one node-to-node transfer batch, by peer.",
        "xgw_federation_outbox_depth": "Messages waiting in a peer's outbox (queued or in flight).",
        "xgw_federation_outbox_oldest_seconds": "Age in seconds of the oldest message in a peer's outbox.",
    ]

    static func help(_ name: String) -> String { helpTexts[name] ?? "" }

    /// Process metrics (`process_*`, from /proc/self), refreshed by `refreshProcess()`.
    let process = ProcessMetrics()

    /// Reads /proc/self into the `process_*` metrics (when /metrics is read).
    func refreshProcess() { process.refresh(registry: registry) }

    /// Per participant: the age of its oldest queued or leased message (0 when it has none).
    func queueOldest(participant: String, seconds: Double) {
        gauge("xgw_queue_oldest_seconds", [("participant", participant)]).record(seconds)
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

import Foundation
import GatewayFederation
import GatewayModel
import GatewayQueue
import GatewayServer
import GatewaySigning
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `xgw bench federation`: records/s from a submit at renshi-node to the lease at xinsheng-node
/// (two gateways in this process, a throw-away alliance, mutual TLS on loopback, SQLite), against
/// one gateway without a `node` section where renshi submits and xinsheng leases, in the same run
/// and in interleaved rounds (one-node, federated, federated, one-node …) so that the machine's
/// noise falls on both. Submits call `Gateway.submit` (no office HTTP), leases and acks call
/// `Gateway.lease`/`Gateway.ack`: the difference between the two is the node-to-node transport.
/// Each transfer's duration (a batch's POSTs and settling, as the forwarder records it in
/// `xgw_federation_transfer_seconds`) gives the p50/p99.
public struct FederationBenchmark {
    public var mappingsDirectory: String
    public var seedsDirectory: String
    /// Records per measured run (rounded down to whole documents).
    public var records: Int
    /// Records per document.
    public var documentsOf: Int
    /// Signature algorithms by name (`ES256`, `SM2-SM3`).
    public var algorithms: [String]
    /// Pairs of runs (one-node and federated, in alternating order).
    public var rounds: Int

    static let hosts = [
        "renshi-node": ["renshi", "kaijiang", "kaijiang-renshi", "dachuan"],
        "xinsheng-node": ["xinsheng", "liangping", "liangping-xinsheng"],
    ]

    public init(mappingsDirectory: String, seedsDirectory: String, records: Int, documentsOf: Int, algorithms: [String], rounds: Int) {
        self.mappingsDirectory = mappingsDirectory
        self.seedsDirectory = seedsDirectory
        self.records = records
        self.documentsOf = documentsOf
        self.algorithms = algorithms
        self.rounds = rounds
    }

    /// One measured run: records delivered, wall seconds from the first submit to the last lease, CPU seconds of the process.
    struct Run {
        var records: Int
        var seconds: Double
        var cpu: Double
        var rate: Double { Double(records) / seconds }
    }

    public func run(output: some BenchmarkOutput) async throws {
        guard records >= documentsOf, documentsOf > 0, rounds > 0 else {
            throw BenchmarkError.invalid("--records must be at least --documents-of, both and --rounds positive")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-bench-federation-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        output.line(
            "federation: records/s from Gateway.submit at renshi-node to Gateway.lease at xinsheng-node (forwarder → mutual TLS 1.3 on loopback → "
                + "verify → enqueue, SQLite, acks at the receiver), against one gateway without a node section (submit and lease at the same gateway)")
        output.line("alg      rec/doc  mode       round  records/s  µs/rec  CPU µs/rec (whole process)")
        output.flush()
        var firstId = 0
        for name in algorithms {
            guard let algorithm = SignatureAlgorithm(name: name) else { throw BenchmarkError.invalid("unknown algorithm \(name)") }
            let samples = Mutex<[(seconds: Double, messages: Int)]>([])
            let pair = try await NodePair.start(
                folder: "\(folder)/\(name)", algorithm: algorithm, benchmark: self,
                observer: { peer, seconds, messages in
                    if peer == "xinsheng-node" { samples.withLock { $0.append((seconds, messages)) } }
                })
            do {
                try await measureRounds(pair, name: name, first: &firstId, samples: samples, output: output)
            } catch {
                await pair.stop()
                throw error
            }
            await pair.stop()
        }
    }

    /// The warm-up, then `rounds` pairs of runs, then the totals, the ratio and the transfer percentiles.
    func measureRounds(
        _ pair: NodePair, name: String, first firstId: inout Int, samples: borrowing Mutex<[(seconds: Double, messages: Int)]>, output: some BenchmarkOutput
    ) async throws {
        // Warm-up (not measured): the forwarder's connection, the SQLite files, the code paths.
        _ = try await measure(from: pair.renshi, to: pair.xinsheng, first: &firstId, records: documentsOf)
        _ = try await measure(from: pair.oneNode, to: pair.oneNode, first: &firstId, records: documentsOf)
        try await pair.settle()
        samples.withLock { $0.removeAll() }

        var oneNode: [Run] = []
        var federated: [Run] = []
        for round in 1...rounds {
            for isFederated in (round % 2 == 1 ? [false, true] : [true, false]) {
                let run =
                    isFederated
                    ? try await measure(from: pair.renshi, to: pair.xinsheng, first: &firstId, records: records)
                    : try await measure(from: pair.oneNode, to: pair.oneNode, first: &firstId, records: records)
                if isFederated { federated.append(run) } else { oneNode.append(run) }
                output.line(
                    name.padding(toLength: 9, withPad: " ", startingAt: 0) + String(documentsOf).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + (isFederated ? "federated" : "one-node").padding(toLength: 11, withPad: " ", startingAt: 0)
                        + String(round).padding(toLength: 7, withPad: " ", startingAt: 0)
                        + String(format: "%-10.0f %-7.1f %.1f", run.rate, run.seconds / Double(run.records) * 1e6, run.cpu / Double(run.records) * 1e6))
                output.flush()
                try await pair.settle()
            }
        }
        let one = Self.total(oneNode)
        let fed = Self.total(federated)
        let prefix = name.padding(toLength: 9, withPad: " ", startingAt: 0)
        output.line(
            prefix
                + String(
                    format: "one-node %.0f records/s (%.1f µs/rec), federated %.0f records/s (%.1f µs/rec): ratio federated/one-node %.2f (goal ≥ 0.50)",
                    one.rate, 1e6 / one.rate, fed.rate, 1e6 / fed.rate, fed.rate / one.rate))
        let taken = samples.withLock { $0 }
        let durations = taken.map { $0.seconds }.sorted()
        let messages = taken.reduce(0) { $0 + $1.messages }
        output.line(
            prefix
                + String(
                    format: "transfer renshi-node → xinsheng-node: %d batches, %.0f messages/batch, p50 %.1f ms, p99 %.1f ms, max %.1f ms (goal p99 < 100 ms)",
                    taken.count, taken.isEmpty ? 0 : Double(messages) / Double(taken.count), Self.percentile(durations, 0.50) * 1e3,
                    Self.percentile(durations, 0.99) * 1e3, (durations.last ?? 0) * 1e3))
        output.flush()
    }

    /// Records over seconds of every run together.
    static func total(_ runs: [Run]) -> Run {
        Run(records: runs.reduce(0) { $0 + $1.records }, seconds: runs.reduce(0) { $0 + $1.seconds }, cpu: runs.reduce(0) { $0 + $1.cpu })
    }

    /// The nearest-rank percentile `p` of sorted values (0 when there are none).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    /// Submits `records` new Sichuan traffic records as renshi at `sender` while xinsheng leases
    /// (and acks) at `receiver`; the time runs from the first submit to the last record leased.
    func measure(from sender: Gateway, to receiver: Gateway, first: inout Int, records: Int) async throws -> Run {
        let documents = (0..<max(1, records / documentsOf)).map { index in
            SyntheticDocuments.scTraffic(records: documentsOf, firstId: first + index * documentsOf)
        }
        first += documents.count * documentsOf
        let expected = documents.count * documentsOf
        let cpuStart = CPUTime.process()
        let start = ContinuousClock.now
        let receiving = Task { try await Self.receive(at: receiver, expected: expected, start: start) }
        do {
            for document in documents {
                let outcome = try await sender.submit(document, mappingID: nil, submitter: "renshi")
                guard outcome.accepted == documentsOf else {
                    throw BenchmarkError.invalid("a document of \(documentsOf) records had \(outcome.accepted) accepted")
                }
            }
        } catch {
            receiving.cancel()
            throw error
        }
        let elapsed = try await receiving.value
        let cpu = CPUTime.process() - cpuStart
        return Run(records: expected, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, cpu: cpu)
    }

    /// Leases xinsheng's inbox at `gateway` until `expected` messages came, acking each batch after
    /// it is counted; returns the time from `start` to the last lease.
    static func receive(at gateway: Gateway, expected: Int, start: ContinuousClock.Instant) async throws -> Duration {
        var got = 0
        var last = start
        let deadline = start + .seconds(120 + expected / 50)
        while got < expected {
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError.invalid("only \(got) of \(expected) records reached xinsheng's inbox within \(deadline - start)")
            }
            let leased = try await gateway.lease(participant: "xinsheng", max: 1000, visibility: 300)
            let messages = leased["messages"]?.arrayValue ?? []
            if messages.isEmpty {
                try await Task.sleep(for: .milliseconds(2))
                continue
            }
            got += messages.count
            last = ContinuousClock.now
            for message in messages {
                guard let id = message["envelopeId"]?.stringValue, let token = message["leaseToken"]?.stringValue else { continue }
                _ = try await gateway.ack(participant: "xinsheng", envelopeId: id, leaseToken: token, outcome: .accepted)
            }
        }
        return last - start
    }
}

/// The three gateways of one algorithm: renshi-node and xinsheng-node of a throw-away alliance,
/// and a one-node gateway (the embedded default, no `node` section); each running its services.
final class NodePair: Sendable {
    let oneNode: Gateway
    let renshi: Gateway
    let xinsheng: Gateway
    /// The three applications in one service group, and the task running it.
    let group: ServiceGroup
    let running: Task<Void, any Error>

    init(oneNode: Gateway, renshi: Gateway, xinsheng: Gateway, group: ServiceGroup) {
        self.oneNode = oneNode
        self.renshi = renshi
        self.xinsheng = xinsheng
        self.group = group
        running = Task { try await group.run() }
    }

    /// Shuts the three gateways down gracefully and waits for them.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    static func start(
        folder: String, algorithm: SignatureAlgorithm, benchmark: FederationBenchmark,
        observer: @escaping @Sendable (String, Double, Int) -> Void
    ) async throws -> NodePair {
        var logger = Logger(label: "xgw-bench-federation")
        logger.logLevel = .error
        // The alliance: both roots, a node certificate per node (IP SAN 127.0.0.1), a key per hosted participant.
        let alliance = PKIDirectory(path: folder + "/alliance")
        let root = try PKIDirectory.initialize(
            at: alliance.path, algorithm: algorithm, commonName: "bench alliance root", days: 2, tlsCommonName: "bench TLS root")
        var ports: [String: Int] = [:]
        for node in FederationBenchmark.hosts.keys.sorted() {
            try alliance.issueNode(nodeID: node, names: SubjectAltNames(ipAddresses: ["127.0.0.1"]), days: 2)
            for id in FederationBenchmark.hosts[node]! { try alliance.issue(officeID: id, commonName: id, algorithm: algorithm, days: 2) }
            ports[node] = try freePort()
        }
        let issuedAt = Date().addingTimeInterval(-60)
        let directory = try Directory(
            serial: 1, issuedAt: issuedAt, nextUpdate: issuedAt.addingTimeInterval(86_400),
            nodes: try FederationBenchmark.hosts.keys.sorted().map { id in
                DirectoryNode(
                    id: id, url: "https://127.0.0.1:\(ports[id]!)",
                    tlsCertificateSha256: DirectoryNode.pin(of: try Certificate(file: alliance.nodeCertificatePath(id))),
                    hosts: FederationBenchmark.hosts[id]!)
            })
        let signed = try SignedDirectory.sign(directory, by: root).canonicalBytes()

        var services: [any Service] = []
        func launch(_ configuration: ServerConfiguration, metrics: GatewayMetrics = GatewayMetrics()) throws -> Gateway {
            let (application, gateway) = try buildApplication(configuration: configuration, logger: logger, metrics: metrics)
            services.append(application)
            return gateway
        }
        func base(_ name: String) -> ServerConfiguration {
            var configuration = ServerConfiguration()
            configuration.port = 0
            configuration.dataDirectory = "\(folder)/\(name)/data"
            configuration.mappingsDirectory = benchmark.mappingsDirectory
            configuration.seedsDirectory = benchmark.seedsDirectory
            configuration.algorithm = algorithm
            return configuration
        }
        var nodes: [String: Gateway] = [:]
        for node in FederationBenchmark.hosts.keys.sorted() {
            // The node's own pki folder: public roots and CRLs, its node key, its participants' keys.
            let pki = PKIDirectory(path: "\(folder)/\(node)/pki")
            let fm = FileManager.default
            try fm.createDirectory(atPath: pki.officesDirectory, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: pki.nodesDirectory, withIntermediateDirectories: true)
            var copies = [
                (alliance.caCertificatePath, pki.caCertificatePath), (alliance.crlPath, pki.crlPath),
                (alliance.tlsCACertificatePath, pki.tlsCACertificatePath), (alliance.tlsCRLPath, pki.tlsCRLPath),
                (alliance.nodeKeyPath(node), pki.nodeKeyPath(node)), (alliance.nodeCertificatePath(node), pki.nodeCertificatePath(node)),
            ]
            for id in FederationBenchmark.hosts[node]! {
                copies += [(alliance.officeKeyPath(id), pki.officeKeyPath(id)), (alliance.officeCertificatePath(id), pki.officeCertificatePath(id))]
            }
            for (from, to) in copies { try fm.copyItem(atPath: from, toPath: to) }
            let directoryPath = "\(folder)/\(node)/directory.json"
            try Data(signed).write(to: URL(fileURLWithPath: directoryPath))

            var federation = NodeConfiguration.Federation(certificate: pki.nodeCertificatePath(node), key: pki.nodeKeyPath(node))
            federation.listen = "127.0.0.1"
            federation.port = ports[node]!
            federation.trust = pki.tlsCACertificatePath
            var configuration = base(node)
            configuration.pkiDirectory = pki.path
            configuration.node = NodeConfiguration(id: node, directory: directoryPath, federation: federation)
            nodes[node] = try launch(configuration, metrics: GatewayMetrics(transferObserver: node == "renshi-node" ? observer : nil))
        }
        let oneNode = try launch(base("one-node"))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        return NodePair(oneNode: oneNode, renshi: nodes["renshi-node"]!, xinsheng: nodes["xinsheng-node"]!, group: group)
    }

    /// Waits until the receipts of the last run went back to renshi-node (xinsheng-node's outbox is
    /// empty), so that a run does not pay for the previous one's traffic.
    func settle() async throws {
        let outbox = Outbox.destination(node: "renshi-node")
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let depth = try await xinsheng.queue.depths()[outbox] ?? QueueDepth()
            if depth.queued + depth.leased == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchmarkError.invalid("xinsheng-node's outbox to renshi-node did not drain within 120 s")
    }
}

/// A TCP port on 127.0.0.1 free at the time of asking (the directory needs each node's port before it starts).
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw BenchmarkError.software("socket() failed") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BenchmarkError.software("bind() to 127.0.0.1 failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw BenchmarkError.software("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

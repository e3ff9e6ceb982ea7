import Foundation
import GatewayFederation
import GatewayQueue
import GatewayServer
import GatewaySigning
import Hummingbird
import Logging
import ServiceLifecycle

/// The three gateways of one algorithm in `xgw bench federation`: renshi-node and xinsheng-node of
/// a throw-away alliance, and a one-node gateway (the embedded default, no `node` section); each
/// running its services in this process.
final class NodePair: Sendable {
    let oneNode: Gateway
    let renshi: Gateway
    let xinsheng: Gateway
    /// The three applications in one service group, and the task running it.
    let group: ServiceGroup
    let running: Task<Void, any Error>

    static let hosts = [
        "renshi-node": ["renshi", "kaijiang", "kaijiang-renshi", "dachuan"],
        "xinsheng-node": ["xinsheng", "liangping", "liangping-xinsheng"],
    ]

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

    /// Makes the alliance in `folder` (both roots, a node certificate per node with the IP SAN
    /// 127.0.0.1, a key per hosted participant, a signed directory with `https://127.0.0.1:<free
    /// port>` urls), each node's own pki folder, and starts the three gateways. `observer` is told
    /// of each of renshi-node's transfers (`xgw_federation_transfer_seconds`).
    static func start(
        folder: String, algorithm: SignatureAlgorithm, mappingsDirectory: String, seedsDirectory: String,
        observer: @escaping @Sendable (String, Double, Int) -> Void
    ) async throws -> NodePair {
        var logger = Logger(label: "xgw-bench-federation")
        logger.logLevel = .error
        let alliance = PKIDirectory(path: folder + "/alliance")
        let root = try PKIDirectory.initialize(
            at: alliance.path, algorithm: algorithm, commonName: "bench alliance root", days: 2, tlsCommonName: "bench TLS root")
        var ports: [String: Int] = [:]
        for node in hosts.keys.sorted() {
            try alliance.issueNode(nodeID: node, names: SubjectAltNames(ipAddresses: ["127.0.0.1"]), days: 2)
            for id in hosts[node]! { try alliance.issue(officeID: id, commonName: id, algorithm: algorithm, days: 2) }
            ports[node] = try freePort()
        }
        let issuedAt = Date().addingTimeInterval(-60)
        let directory = try Directory(
            serial: 1, issuedAt: issuedAt, nextUpdate: issuedAt.addingTimeInterval(86_400),
            nodes: try hosts.keys.sorted().map { id in
                DirectoryNode(
                    id: id, url: "https://127.0.0.1:\(ports[id]!)",
                    tlsCertificateSha256: DirectoryNode.pin(of: try Certificate(file: alliance.nodeCertificatePath(id))),
                    hosts: hosts[id]!)
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
            configuration.mappingsDirectory = mappingsDirectory
            configuration.seedsDirectory = seedsDirectory
            configuration.algorithm = algorithm
            return configuration
        }
        var nodes: [String: Gateway] = [:]
        for node in hosts.keys.sorted() {
            let pki = try alliance.makeNodeFolder(node, participants: hosts[node]!, at: "\(folder)/\(node)/pki")
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

    /// Waits until renshi-node's outbox for xinsheng-node is empty: every transfer of the last run
    /// is settled (and timed), so that a run neither pays for the previous one's traffic nor loses
    /// its last transfers' times.
    func settle() async throws {
        let outbox = Outbox.destination(node: "xinsheng-node")
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let depth = try await renshi.queue.depths()[outbox] ?? QueueDepth()
            if depth.queued + depth.leased == 0 {
                // The forwarder records a transfer's time just after the ack that empties the outbox.
                try await Task.sleep(for: .milliseconds(50))
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchmarkError.invalid("renshi-node's outbox to xinsheng-node did not drain within 120 s")
    }
}

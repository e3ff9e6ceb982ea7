import Foundation
import GatewayMapping
import GatewayModel
import GatewayQueue
import GatewaySigning
import Logging
import ServiceLifecycle
import Synchronization

/// The gateway behind the HTTP API: translator, routes, one signer per participant, the trust
/// store and the queue, opened from a `ServerConfiguration` (creating the PKI and tokens on first
/// start). Every method is what one API call does, with the caller already authenticated.
public final class Gateway: Sendable {
    public let configuration: ServerConfiguration
    /// The mappings and routes in use (replaced whole by SIGHUP: `HangupReload`).
    let mappingSet: MappingSet
    public var translator: Translator { mappingSet.current.translator }
    public var routes: Routes { mappingSet.current.routes }
    public let queue: any MessageQueue
    /// What keeps the queue running (PostgreSQL's pool), run in the server's service group; nil for SQLite.
    let queueService: (any Service)?
    public let tokens: TokenStore
    /// The hosted participants' signers, checked against the CRL and their validity before each use.
    let keys: SigningKeys
    let metrics: GatewayMetrics
    let logger: Logger
    let leases = LeaseCache()
    /// The directory this node holds; nil without a `node` section (the one-node federation).
    let directory: NodeDirectory?
    /// This node's TLS for the node-to-node API (node mode only).
    let nodeTLS: NodeTLS?
    /// The last success and error of each peer's forwarder (`GET /v1/ops/peers`).
    let peers = PeerStates()
    /// Bulletin attachments' bytes by hash, and who may read them.
    public let attachments: AttachmentStore

    /// The tokens created by this start (name, token): shown once, never stored in clear.
    public let createdTokens: [(String, String)]

    public var seeds: Seeds { translator.seeds }

    /// The alliance root with the current CRL.
    public var trust: TrustStore { keys.trust }

    public init(configuration: ServerConfiguration, metrics: GatewayMetrics, logger: Logger) throws {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        let fm = FileManager.default
        try fm.createDirectory(
            atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        mappingSet = MappingSet(try MappingSet.load(configuration))
        try DeliveryRendering.check(configuration, mappingSet.current)
        let translator = mappingSet.current.translator
        let pki = PKIDirectory(path: configuration.pkiPath)
        let participants: [String]
        if let node = configuration.node {
            // A node never creates a root or keys: the directory says whom it hosts, and their
            // keys must already be here (DirectoryAcceptance names a missing or foreign one).
            let held = try NodeDirectory(
                node: node, pki: pki, dataDirectory: configuration.dataDirectory, metrics: metrics, logger: logger)
            directory = held
            participants = held.hosted
            nodeTLS = try NodeTLS(node: node, pkiPath: configuration.pkiPath, logger: logger)
            if let own = held.current.node(id: node.id), !own.isPinned(nodeTLS!.ownPin) {
                throw ServerConfigurationError(
                    "\(node.federation.certificate): the directory (serial \(held.current.serial)) pins another certificate for \(node.id)")
            }
            for id in participants where translator.seeds.participant(id) == nil {
                throw ServerConfigurationError("\(node.directory): the directory gives \(id) to this node, but the seeds do not know it")
            }
        } else {
            directory = nil
            nodeTLS = nil
            participants = translator.seeds.participants.map(\.id)
            // The alliance PKI: a root and one key per participant, created once.
            if !fm.fileExists(atPath: pki.caKeyPath) {
                try PKIDirectory.initialize(
                    at: pki.path, algorithm: configuration.algorithm, commonName: "xgw alliance root",
                    days: configuration.certificateDays)
                logger.notice("created the alliance root", metadata: ["pki": .string(pki.path)])
            }
            for id in participants where !fm.fileExists(atPath: pki.officeKeyPath(id)) {
                try pki.issue(officeID: id, commonName: id, algorithm: configuration.algorithm, days: configuration.certificateDays)
                logger.notice("issued a participant key", metadata: ["participant": .string(id)])
            }
        }
        keys = try SigningKeys(pki: pki, participants: participants)

        let bootstrap = try TokenStore.bootstrap(path: configuration.tokensPath, participants: participants)
        tokens = configuration.node == nil ? bootstrap.store : bootstrap.store.restricted(to: Set(participants))
        createdTokens = bootstrap.created

        do {
            attachments = try AttachmentStore(directory: configuration.attachmentsPath, maxBytes: configuration.attachments.maxBytes)
        } catch {
            throw ServerConfigurationError("attachments: \(error)")
        }

        (queue, queueService) = try QueueDriver.open(configuration, logger: logger)
    }
}

/// Leased messages the server has handed out, so that an ack can be turned into a receipt for the
/// right envelope (the queue acks by lease token and does not return the envelope).
final class LeaseCache: Sendable {
    struct Lease: Sendable {
        var participant: String
        var envelopeId: String
        var envelope: [UInt8]
        var expiresAt: Date
        /// The format the record was delivered rendered in beside its envelope (named in the
        /// ack's history), nil when only the envelope was.
        var rendering: String? = nil
    }

    private let state = Mutex<[String: Lease]>([:])

    func put(_ token: String, _ lease: Lease) {
        state.withLock { $0[token] = lease }
    }

    func get(_ token: String) -> Lease? { state.withLock { $0[token] } }

    func remove(_ token: String) { _ = state.withLock { $0.removeValue(forKey: token) } }

    /// Drops leases that expired more than `grace` seconds ago.
    func sweep(now: Date, grace: TimeInterval = 60) {
        state.withLock { leases in
            leases = leases.filter { $0.value.expiresAt.addingTimeInterval(grace) > now }
        }
    }
}

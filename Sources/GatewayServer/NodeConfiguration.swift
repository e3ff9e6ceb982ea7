/// The `node` section of `xgw serve --config` (federation.md, "Node configuration"): this server is
/// one node of a federation, hosting only the participants the signed directory gives it.
///
/// Without it a server is the one-node federation hosting every participant (as before).
public struct NodeConfiguration: Sendable, Equatable {
    /// This node's id in the directory.
    public var id: String
    /// The participants this node hosts; nil means "the directory's entry for this node". When given
    /// they must equal that entry, or the node refuses to start.
    public var hosts: [String]?
    /// The signed directory file (`xgw directory sign`), re-read at start, on SIGHUP and when it changes.
    public var directory: String
    /// How often each peer is asked for its directory.
    public var directoryPollSeconds = 300.0
    /// An incoming envelope whose `createdAt` is older than this many days is `rejected` `bad-time`.
    public var maxEnvelopeAgeDays = 30.0
    /// The node-to-node listener (mutual TLS).
    public var federation: Federation

    /// The node-to-node listener: address, port, this node's certificate and key, and the TLS root.
    public struct Federation: Sendable, Equatable {
        public var listen = "0.0.0.0"
        public var port = 8443
        /// This node's certificate (`xgw pki issue-node` or `request-node` + `sign-request`).
        public var certificate: String
        public var key: String
        /// The TLS root; nil means `<pki>/tls-ca.cert.pem`.
        public var trust: String?

        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    public init(id: String, directory: String, federation: Federation) {
        self.id = id
        self.directory = directory
        self.federation = federation
    }

    /// The TLS root file: `federation.trust`, or `<pki>/tls-ca.cert.pem`.
    public func trustPath(pkiPath: String) -> String { federation.trust ?? pkiPath + "/tls-ca.cert.pem" }

    /// The adopted copy of the directory in the data folder (used at start when newer than the file).
    static func adoptedDirectoryPath(dataDirectory: String) -> String { dataDirectory + "/directory.json" }

    func check() throws(ServerConfigurationError) {
        guard !id.isEmpty else { throw ServerConfigurationError("node.id must not be empty") }
        guard !directory.isEmpty else { throw ServerConfigurationError("node.directory must not be empty") }
        if let hosts {
            guard !hosts.contains(where: \.isEmpty) else { throw ServerConfigurationError("node.hosts must not hold an empty id") }
            guard Set(hosts).count == hosts.count else { throw ServerConfigurationError("node.hosts names a participant twice") }
        }
        guard directoryPollSeconds > 0, directoryPollSeconds <= 86_400 else {
            throw ServerConfigurationError("node.directoryPollSeconds must be in (0, 86400]")
        }
        guard maxEnvelopeAgeDays > 0 else { throw ServerConfigurationError("node.maxEnvelopeAgeDays must be positive") }
        // 0: any free port (logged at start), for tests; peers need a fixed one in the directory's url.
        guard (0...65535).contains(federation.port) else {
            throw ServerConfigurationError("node.federation.port \(federation.port) is not in 0...65535")
        }
        guard !federation.listen.isEmpty else { throw ServerConfigurationError("node.federation.listen must not be empty") }
        guard !federation.certificate.isEmpty else { throw ServerConfigurationError("node.federation.certificate must not be empty") }
        guard !federation.key.isEmpty else { throw ServerConfigurationError("node.federation.key must not be empty") }
    }
}

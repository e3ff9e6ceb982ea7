import Foundation
import GatewayQueue
import GatewayQueuePostgres
import GatewaySigning
import Yams

/// Everything `xgw serve` needs: embedded defaults, then the YAML file of `--config`, then the
/// environment (`XGW_LISTEN`, `XGW_PORT`, `XGW_DATA`, `XGW_DATABASE`, `XGW_ALGORITHM`).
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to listen on (127.0.0.1 by default: the gateway is put behind a proxy to go public).
    public var listen = "127.0.0.1"
    /// TCP port; 0 picks a free one (printed on start).
    public var port = 8080
    /// Folder of the database, the PKI and the tokens file.
    public var dataDirectory = "./data"
    /// `sqlite:PATH` or `postgres://user:password@host:port/db?schema=…&pool=…&timeout=…` (several
    /// nodes on one database); nil means `sqlite:<data>/xgw.sqlite`.
    public var database: String?
    /// The alliance PKI folder; nil means `<data>/pki`.
    public var pkiDirectory: String?
    /// Mappings (with `routes.yaml`) and seeds folders.
    public var mappingsDirectory = "Mappings"
    public var seedsDirectory = "seeds"
    /// Algorithm of the keys created on first start.
    public var algorithm: SignatureAlgorithm = .sm2sm3
    /// Days the certificates created on first start are valid.
    public var certificateDays = 825
    /// Largest request body accepted (413 beyond, refused before it is read whole).
    public var maxBodyBytes = 16 << 20
    /// Redelivery policy and retention of acked messages.
    public var retry = RetryPolicy.default
    public var retentionDays = 30.0
    /// Largest `max` of one lease call.
    public var maxLease = 1000
    /// A connection is closed when it sends nothing for this long: no complete request head
    /// since it opened or since the last answer (slow or stalled headers, idle keep-alive), or a
    /// pause between body parts.
    public var idleTimeoutSeconds = 30.0
    /// A request's head and whole body must arrive within this long, or the connection is closed
    /// (a body trickled a byte at a time; 16 MiB in 120 s needs about 1.1 Mbit/s).
    public var requestTimeoutSeconds = 120.0
    /// Warn (log, metric, `/healthz`) when a participant's signing certificate expires within this
    /// many days.
    public var certificateWarningDays = 30.0
    /// This server as one node of a federation; nil: the one-node federation hosting every participant.
    public var node: NodeConfiguration?
    /// The office API over TLS (`tls:` with `certificate` and `key`): offices that reach their node
    /// across a network. Nil: plain HTTP, the loopback default.
    public var tls: OfficeTLS?
    /// How `xgw serve` writes its log lines to standard error (`logFormat:`): `text` (the default,
    /// swift-log's standard lines) or `json` (one object per line, `JSONLogHandler`).
    public var logFormat = LogFormat.text
    /// How envelopes and receipts are signed (`signing:`): `batch`, one signature per submitted
    /// document and per ack request settling several messages (envelope.md, "Batch signatures").
    public var signing = Signing()

    public enum LogFormat: String, Sendable, Equatable, CaseIterable {
        case text, json
    }
    /// Bulletin attachments' bytes (`attachments:`): where they are kept and how large one may be.
    public var attachments = Attachments()
    /// Settings per participant (`participants:`), by participant id: how its messages are
    /// delivered (`delivery`). A participant not listed gets the defaults (canonical envelopes).
    public var participants: [String: Participant] = [:]
    /// The YAML file the configuration was read from (`--config`), for messages naming it.
    public var file: String?

    public struct Attachments: Sendable, Equatable {
        /// The folder of the attachment store; nil means `<data>/attachments`.
        public var directory: String?
        /// Largest attachment accepted by `PUT /v1/attachments/{sha256}` (413 beyond), and
        /// declared by a bulletin (refused `attachment-too-large` beyond): 20 MiB by default.
        public var maxBytes = 20 << 20
        public init() {}
    }

    public struct OfficeTLS: Sendable, Equatable {
        public var certificate: String
        public var key: String
        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// `https` with `tls`, else `http`.
    public var scheme: String { tls == nil ? "http" : "https" }

    public init() {}

    public var databaseURL: String { database ?? "sqlite:\(dataDirectory)/xgw.sqlite" }
    public var pkiPath: String { pkiDirectory ?? dataDirectory + "/pki" }
    public var tokensPath: String { dataDirectory + "/tokens" }
    public var attachmentsPath: String { attachments.directory ?? dataDirectory + "/attachments" }

    /// The queue driver `databaseURL` selects.
    public enum Database: Sendable, Equatable {
        /// One node owns the file.
        case sqlite(path: String)
        /// Any number of nodes share the database.
        case postgres(PostgresQueueSettings)
    }

    /// Parses `databaseURL`; errors name the bad part, never the password.
    public func queueDatabase() throws(ServerConfigurationError) -> Database {
        let url = databaseURL
        if url.hasPrefix("sqlite://") { return .sqlite(path: String(url.dropFirst("sqlite://".count))) }
        if url.hasPrefix("sqlite:") { return .sqlite(path: String(url.dropFirst("sqlite:".count))) }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            do {
                return .postgres(try PostgresQueueSettings(url: url))
            } catch {
                throw ServerConfigurationError("database: \((error as? QueueError)?.message ?? "not a valid postgres:// URL")")
            }
        }
        throw ServerConfigurationError(
            "database: sqlite:PATH or postgres://… (got a \(url.split(separator: ":").first ?? "") URL)")
    }

    /// The SQLite file of `databaseURL`; throws for a PostgreSQL URL.
    public func sqlitePath() throws(ServerConfigurationError) -> String {
        guard case .sqlite(let path) = try queueDatabase() else {
            throw ServerConfigurationError("database: not a sqlite: URL")
        }
        return path
    }

    /// `databaseURL` without its password, for logs and the start banner.
    public var databaseDescription: String {
        switch try? queueDatabase() {
        case .postgres(let settings): settings.description
        case .sqlite(let path): "sqlite:" + path
        case nil: "(invalid database URL)"
        }
    }

    /// Defaults, overridden by the YAML file (when given), then by the environment.
    public static func load(
        file: String?, environment: [String: String], base: ServerConfiguration = ServerConfiguration()
    ) throws(ServerConfigurationError) -> ServerConfiguration {
        var c = base
        if let file {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw ServerConfigurationError("\(file): cannot be read")
            }
            try c.apply(yaml: text, file: file)
        }
        try c.apply(environment: environment)
        return c
    }

    mutating func apply(yaml text: String, file: String) throws(ServerConfigurationError) {
        let values: ServerConfigurationFile
        do {
            guard let node = try Yams.compose(yaml: text) else { return }  // an empty file: the defaults
            values = try YAMLDecoder().decode(ServerConfigurationFile.self, from: node)
        } catch let error as ServerConfigurationError {
            throw ServerConfigurationError("\(file): \(error.message)")
        } catch let error as DecodingError {
            throw ServerConfigurationError("\(file): \(ServerConfigurationFile.describe(error))")
        } catch {
            throw ServerConfigurationError("\(file): not YAML: \(error)")
        }
        values.apply(to: &self)
        self.file = file
        if let name = values.algorithm { try setAlgorithm(name) }
        try check()
    }

    mutating func apply(environment env: [String: String]) throws(ServerConfigurationError) {
        if let v = env["XGW_LISTEN"], !v.isEmpty { listen = v }
        if let v = env["XGW_PORT"], !v.isEmpty {
            guard let p = Int(v) else { throw ServerConfigurationError("XGW_PORT must be a port number") }
            port = p
        }
        if let v = env["XGW_DATA"], !v.isEmpty { dataDirectory = v }
        if let v = env["XGW_DATABASE"], !v.isEmpty { database = v }
        if let v = env["XGW_ALGORITHM"], !v.isEmpty { try setAlgorithm(v) }
        try check()
    }

    private mutating func setAlgorithm(_ name: String) throws(ServerConfigurationError) {
        guard let a = SignatureAlgorithm(name: name) else {
            throw ServerConfigurationError(
                "algorithm '\(name)' is not one of \(SignatureAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        algorithm = a
    }

    private func check() throws(ServerConfigurationError) {
        guard (0...65535).contains(port) else { throw ServerConfigurationError("port \(port) is not in 0...65535") }
        guard maxBodyBytes > 0 else { throw ServerConfigurationError("maxBodyBytes must be positive") }
        guard maxLease > 0 else { throw ServerConfigurationError("maxLease must be positive") }
        guard attachments.maxBytes > 0 else { throw ServerConfigurationError("attachments.maxBytes must be positive") }
        guard idleTimeoutSeconds > 0, idleTimeoutSeconds <= 86_400 else {
            throw ServerConfigurationError("idleTimeoutSeconds must be in (0, 86400]")
        }
        guard requestTimeoutSeconds > 0, requestTimeoutSeconds <= 86_400 else {
            throw ServerConfigurationError("requestTimeoutSeconds must be in (0, 86400]")
        }
        guard certificateWarningDays >= 0 else { throw ServerConfigurationError("certificateWarningDays must not be negative") }
        guard retry.maxDeliveries > 0 else { throw ServerConfigurationError("retry.maxDeliveries must be positive") }
        try node?.check()
        _ = try queueDatabase()
    }
}

public struct ServerConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

import GatewayQueue

/// The YAML file of `xgw serve --config`, decoded with `Codable`: every key optional, and an
/// unknown key refused at every level (a typo must not silently keep a default).
struct ServerConfigurationFile: Decodable {
    var listen: String?
    var port: Int?
    var data: String?
    var database: String?
    var pki: String?
    var mappings: String?
    var seeds: String?
    var algorithm: String?
    var certificateDays: Int?
    var maxBodyBytes: Int?
    var retry: Retry?
    var signing: Signing?
    var retentionDays: Double?
    var maxLease: Int?
    var idleTimeoutSeconds: Double?
    var requestTimeoutSeconds: Double?
    var certificateWarningDays: Double?
    var logFormat: ServerConfiguration.LogFormat?
    var node: Node?
    var tls: TLS?
    var attachments: Attachments?
    var participants: [String: Participant]?

    /// Bulletin attachments (issue 16 item 10): `maxBytes` and `directory`, both optional.
    struct Attachments: Decodable {
        var maxBytes: Int?
        var directory: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxBytes, directory
        }

        init(from decoder: any Decoder) throws {
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: "attachments.")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxBytes = try c.decodeIfPresent(Int.self, forKey: .maxBytes)
            directory = try c.decodeIfPresent(String.self, forKey: .directory)
        }
    }

    /// The office API over TLS (issue 13 item 6): `certificate` and `key`, PEM files.
    struct TLS: Decodable {
        var certificate: String
        var key: String

        enum CodingKeys: String, CodingKey, CaseIterable {
            case certificate, key
        }

        init(from decoder: any Decoder) throws {
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: "tls.")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            certificate = try c.decode(String.self, forKey: .certificate)
            key = try c.decode(String.self, forKey: .key)
        }
    }

    struct Retry: Decodable {
        var baseDelaySeconds: Double?
        var maxDelaySeconds: Double?
        var jitter: Double?
        var maxDeliveries: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case baseDelaySeconds, maxDelaySeconds, jitter, maxDeliveries
        }

        init(from decoder: any Decoder) throws {
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: "retry.")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            baseDelaySeconds = try c.decodeIfPresent(Double.self, forKey: .baseDelaySeconds)
            maxDelaySeconds = try c.decodeIfPresent(Double.self, forKey: .maxDelaySeconds)
            jitter = try c.decodeIfPresent(Double.self, forKey: .jitter)
            maxDeliveries = try c.decodeIfPresent(Int.self, forKey: .maxDeliveries)
        }
    }

    /// The `node` section: `id` and `directory` and `federation` required, the rest defaulted.
    struct Node: Decodable {
        var configuration: NodeConfiguration

        enum CodingKeys: String, CodingKey, CaseIterable {
            case id, hosts, directory, directoryPollSeconds, maxEnvelopeAgeDays, federation
        }

        enum FederationKeys: String, CodingKey, CaseIterable {
            case listen, port, certificate, key, trust
        }

        init(from decoder: any Decoder) throws {
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: "node.")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let federationDecoder = try c.superDecoder(forKey: .federation)
            try ServerConfigurationFile.refuseUnknownKeys(FederationKeys.self, in: federationDecoder, at: "node.federation.")
            let f = try federationDecoder.container(keyedBy: FederationKeys.self)
            var federation = NodeConfiguration.Federation(
                certificate: try f.decode(String.self, forKey: .certificate), key: try f.decode(String.self, forKey: .key))
            if let v = try f.decodeIfPresent(String.self, forKey: .listen) { federation.listen = v }
            if let v = try f.decodeIfPresent(Int.self, forKey: .port) { federation.port = v }
            federation.trust = try f.decodeIfPresent(String.self, forKey: .trust)
            configuration = NodeConfiguration(
                id: try c.decode(String.self, forKey: .id), directory: try c.decode(String.self, forKey: .directory),
                federation: federation)
            configuration.hosts = try c.decodeIfPresent([String].self, forKey: .hosts)
            if let v = try c.decodeIfPresent(Double.self, forKey: .directoryPollSeconds) { configuration.directoryPollSeconds = v }
            if let v = try c.decodeIfPresent(Double.self, forKey: .maxEnvelopeAgeDays) { configuration.maxEnvelopeAgeDays = v }
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, port, data, database, pki, mappings, seeds, algorithm, certificateDays, maxBodyBytes, retry, signing
        case retentionDays, maxLease, idleTimeoutSeconds, requestTimeoutSeconds, certificateWarningDays, node, tls
        case logFormat
        case attachments
        case participants
    }

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(CodingKeys.self, in: decoder, at: "")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        listen = try c.decodeIfPresent(String.self, forKey: .listen)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        data = try c.decodeIfPresent(String.self, forKey: .data)
        database = try c.decodeIfPresent(String.self, forKey: .database)
        pki = try c.decodeIfPresent(String.self, forKey: .pki)
        mappings = try c.decodeIfPresent(String.self, forKey: .mappings)
        seeds = try c.decodeIfPresent(String.self, forKey: .seeds)
        algorithm = try c.decodeIfPresent(String.self, forKey: .algorithm)
        certificateDays = try c.decodeIfPresent(Int.self, forKey: .certificateDays)
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes)
        retry = try c.decodeIfPresent(Retry.self, forKey: .retry)
        signing = try c.decodeIfPresent(Signing.self, forKey: .signing)
        retentionDays = try c.decodeIfPresent(Double.self, forKey: .retentionDays)
        maxLease = try c.decodeIfPresent(Int.self, forKey: .maxLease)
        idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds)
        requestTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .requestTimeoutSeconds)
        certificateWarningDays = try c.decodeIfPresent(Double.self, forKey: .certificateWarningDays)
        if let name = try c.decodeIfPresent(String.self, forKey: .logFormat) {
            guard let format = ServerConfiguration.LogFormat(rawValue: name) else {
                throw ServerConfigurationError(
                    "logFormat: '\(name)' is not one of \(ServerConfiguration.LogFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logFormat = format
        }
        node = try c.decodeIfPresent(Node.self, forKey: .node)
        tls = try c.decodeIfPresent(TLS.self, forKey: .tls)
        attachments = try c.decodeIfPresent(Attachments.self, forKey: .attachments)
        participants = try c.decodeIfPresent([String: Participant].self, forKey: .participants)
    }

    /// Overrides what the file gives (the algorithm is checked by the caller).
    func apply(to c: inout ServerConfiguration) {
        if let listen { c.listen = listen }
        if let port { c.port = port }
        if let data { c.dataDirectory = data }
        if let database { c.database = database }
        if let pki { c.pkiDirectory = pki }
        if let mappings { c.mappingsDirectory = mappings }
        if let seeds { c.seedsDirectory = seeds }
        if let certificateDays { c.certificateDays = certificateDays }
        if let maxBodyBytes { c.maxBodyBytes = maxBodyBytes }
        if let v = signing?.batch { c.signing.batch = v }
        if let retentionDays { c.retentionDays = retentionDays }
        if let maxLease { c.maxLease = maxLease }
        if let idleTimeoutSeconds { c.idleTimeoutSeconds = idleTimeoutSeconds }
        if let requestTimeoutSeconds { c.requestTimeoutSeconds = requestTimeoutSeconds }
        if let certificateWarningDays { c.certificateWarningDays = certificateWarningDays }
        if let logFormat { c.logFormat = logFormat }
        if let node { c.node = node.configuration }
        if let tls { c.tls = ServerConfiguration.OfficeTLS(certificate: tls.certificate, key: tls.key) }
        if let v = attachments?.maxBytes { c.attachments.maxBytes = v }
        if let v = attachments?.directory { c.attachments.directory = v }
        for (id, p) in participants ?? [:] { p.apply(to: &c.participants[id, default: ServerConfiguration.Participant()]) }
        if let retry {
            if let v = retry.baseDelaySeconds { c.retry.baseDelay = v }
            if let v = retry.maxDelaySeconds { c.retry.maxDelay = v }
            if let v = retry.jitter { c.retry.jitter = v }
            if let v = retry.maxDeliveries { c.retry.maxDeliveries = v }
        }
    }

    /// Any key of the mapping at `decoder` that `Keys` does not name.
    static func refuseUnknownKeys<Keys: CodingKey & CaseIterable & RawRepresentable<String>>(
        _: Keys.Type, in decoder: any Decoder, at prefix: String
    ) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(Keys.allCases.map(\.rawValue))
        for key in container.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container,
                debugDescription: "unknown key '\(prefix)\(key.stringValue)' (known: \(known.sorted().map { prefix + $0 }.joined(separator: ", ")))")
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A decoding failure as one line naming the key: `'port' must be an integer`.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let what = type == Bool.self ? "true or false" : type == Int.self ? "an integer" : type == Double.self ? "a number" : type == String.self ? "text" : "a mapping"
            return path(context).isEmpty ? "the top level must be a mapping" : "'\(path(context))' must be \(what)"
        case .dataCorrupted(let context) where context.debugDescription.hasPrefix("unknown key"):
            return context.debugDescription
        case .dataCorrupted(let context):
            return path(context).isEmpty ? "the top level must be a mapping" : "'\(path(context))': \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "'\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))' is missing"
        @unknown default:
            return "\(error)"
        }
    }
}

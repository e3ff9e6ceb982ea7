import Foundation

/// How `xgw serve` itself delivers a participant's inbox to the office's own system (issue 14
/// item 5), configured under the participant's `delivery` as `connector:`. Each rendered document
/// (the format `delivery.formats` names for its kind, else the canonical JSON envelope) is either
/// written to a folder a legacy system polls (`fileDrop`) or POSTed to the office's URL
/// (`httpPush`); the message is acked, and its receipt signed, only once the file is renamed into
/// place or the office answered 2xx (`Connectors`).
public enum Connector: Sendable, Equatable {
    case fileDrop(FileDrop)
    case httpPush(HTTPPush)

    /// `fileDrop: { folder: PATH }`: each document written as `<folder>/<envelopeId>.<xml|json>`
    /// through a hidden temporary file, fsynced, renamed into place, and the folder fsynced.
    public struct FileDrop: Sendable, Equatable {
        public var folder: String
        public init(folder: String) { self.folder = folder }
    }

    /// `httpPush: { url: URL, headers?: {NAME: VALUE}, timeout?: SECONDS }`: each document POSTed
    /// with `Idempotency-Key: <envelopeId>`; anything but a 2xx within `timeout` is a failed
    /// delivery, retried with the queue's back-off and a dead letter after `retry.maxDeliveries`.
    public struct HTTPPush: Sendable, Equatable {
        public var url: String
        /// Added to every request (an `Authorization` the office gave, say); never logged.
        public var headers: [String: String]
        public var timeoutSeconds: Double
        public init(url: String, headers: [String: String] = [:], timeoutSeconds: Double = 30) {
            self.url = url
            self.headers = headers
            self.timeoutSeconds = timeoutSeconds
        }
    }

    /// What a log line or a dead letter may say of where documents go: the folder, or the URL
    /// without its query and user info.
    public var target: String {
        switch self {
        case .fileDrop(let drop): return drop.folder
        case .httpPush(let push):
            guard var parts = URLComponents(string: push.url) else { return "(URL)" }
            parts.user = nil
            parts.password = nil
            parts.query = nil
            parts.fragment = nil
            return parts.string ?? "(URL)"
        }
    }

    /// `fileDrop` or `httpPush`.
    public var name: String {
        switch self {
        case .fileDrop: "fileDrop"
        case .httpPush: "httpPush"
        }
    }

    /// Refuses what cannot work, naming the key under `at` (`participants.xinsheng.delivery.connector`).
    func check(at path: String) throws(ServerConfigurationError) {
        switch self {
        case .fileDrop(let drop):
            guard !drop.folder.isEmpty else { throw ServerConfigurationError("\(path).fileDrop.folder must not be empty") }
        case .httpPush(let push):
            guard let url = URLComponents(string: push.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = url.host, !host.isEmpty
            else {
                throw ServerConfigurationError("\(path).httpPush.url must be an http:// or https:// URL with a host")
            }
            guard push.timeoutSeconds > 0, push.timeoutSeconds <= 3600 else {
                throw ServerConfigurationError("\(path).httpPush.timeout must be in (0, 3600] seconds")
            }
            for name in push.headers.keys {
                let lower = name.lowercased()
                guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                    throw ServerConfigurationError("\(path).httpPush.headers: '\(name)' is not a header name")
                }
                guard !["idempotency-key", "content-type", "content-length", "host"].contains(lower) else {
                    throw ServerConfigurationError("\(path).httpPush.headers: \(name) is set by the connector")
                }
            }
        }
    }
}

extension Connector {
    /// The `connector:` mapping of a configuration file: exactly one of `fileDrop` and `httpPush`,
    /// unknown keys refused at every level.
    struct File: Decodable {
        var connector: Connector

        enum CodingKeys: String, CodingKey, CaseIterable {
            case fileDrop, httpPush
        }

        enum FileDropKeys: String, CodingKey, CaseIterable {
            case folder
        }

        enum HTTPPushKeys: String, CodingKey, CaseIterable {
            case url, headers, timeout
        }

        init(from decoder: any Decoder) throws {
            // The whole path in messages: `participants.xinsheng.delivery.connector.httpPush.url`.
            let path = decoder.codingPath.map(\.stringValue).joined(separator: ".")
            let prefix = (path.isEmpty ? "connector" : path) + "."
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: prefix)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            switch (c.contains(.fileDrop), c.contains(.httpPush)) {
            case (true, false):
                let d = try c.superDecoder(forKey: .fileDrop)
                try ServerConfigurationFile.refuseUnknownKeys(FileDropKeys.self, in: d, at: prefix + "fileDrop.")
                let f = try d.container(keyedBy: FileDropKeys.self)
                connector = .fileDrop(FileDrop(folder: try f.decode(String.self, forKey: .folder)))
            case (false, true):
                let d = try c.superDecoder(forKey: .httpPush)
                try ServerConfigurationFile.refuseUnknownKeys(HTTPPushKeys.self, in: d, at: prefix + "httpPush.")
                let h = try d.container(keyedBy: HTTPPushKeys.self)
                var push = HTTPPush(url: try h.decode(String.self, forKey: .url))
                push.headers = try h.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
                if let t = try h.decodeIfPresent(Double.self, forKey: .timeout) { push.timeoutSeconds = t }
                connector = .httpPush(push)
            default:
                throw ServerConfigurationError("\(prefix.dropLast()): exactly one of fileDrop and httpPush")
            }
            try connector.check(at: String(prefix.dropLast()))
        }
    }
}

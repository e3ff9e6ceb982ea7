import Foundation
import GatewayQueue
import PostgresNIO

/// Where a `PostgresMessageQueue` connects, read from a URL:
/// `postgres://user:password@host:port/database?schema=xgw&pool=10`.
///
/// - `schema` (default `public`): the schema that holds the queue's tables (created when missing);
///   several gateways or test runs can share one database in different schemas.
/// - `pool` (default 10): the most connections one node opens.
/// - `timeout` (seconds, default 10): the deadline of every call (waiting for a connection, then
///   its statements); a call past it fails with `.storage` and its connection is closed, so a dead
///   connection never holds a request or a pooled slot.
///
/// TLS is not negotiated (`sslmode` other than `disable`/`prefer`/`allow` is refused): run the
/// gateway next to its database or through a TLS tunnel.
public struct PostgresQueueSettings: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var schema: String
    public var maximumConnections: Int
    /// Deadline of one call (see the type's documentation).
    public var timeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres", password: String? = nil,
        database: String = "postgres", schema: String = "public", maximumConnections: Int = 10,
        timeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.maximumConnections = maximumConnections
        self.timeout = timeout
    }

    /// Parses `postgres://` / `postgresql://` URLs; throws `.invalidArgument` naming the bad part
    /// (never the password).
    public init(url text: String) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else { throw QueueError(.invalidArgument, "not a postgres:// URL") }
        self.init()
        if let host = url.host, !host.isEmpty { self.host = host }
        if let port = url.port { self.port = port }
        if let user = url.user, !user.isEmpty { username = user.removingPercentEncoding ?? user }
        password = url.password.map { $0.removingPercentEncoding ?? $0 }
        let path = url.path.drop { $0 == "/" }
        if !path.isEmpty { database = String(path) }
        for item in url.queryItems ?? [] {
            switch item.name {
            case "schema":
                schema = item.value ?? ""
            case "pool":
                guard let value = item.value.flatMap(Int.init), value > 0 else {
                    throw QueueError(.invalidArgument, "pool must be a positive number")
                }
                maximumConnections = value
            case "timeout":
                guard let value = item.value.flatMap(Double.init), value > 0, value <= 3600 else {
                    throw QueueError(.invalidArgument, "timeout must be a number of seconds in (0, 3600]")
                }
                timeout = .milliseconds(Int64((value * 1000).rounded()))
            case "sslmode":
                guard ["disable", "allow", "prefer"].contains(item.value ?? "") else {
                    throw QueueError(.invalidArgument, "sslmode \(item.value ?? "") is not supported (no TLS)")
                }
            default:
                throw QueueError(.invalidArgument, "unknown URL parameter \(item.name)")
            }
        }
        guard Self.isPlainIdentifier(schema) else {
            throw QueueError(.invalidArgument, "schema must be lower-case letters, digits and _")
        }
    }

    /// `[a-z_][a-z0-9_]*`, at most 63 bytes: safe to write into SQL without quoting.
    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, first == UInt8(ascii: "_") || (97...122).contains(first)
        else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (97...122).contains($0) || (48...57).contains($0) }
    }

    /// The URL without the password.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)?schema=\(schema)&pool=\(maximumConnections)&timeout=\(timeoutSeconds)"
    }

    var timeoutSeconds: String {
        let (seconds, attoseconds) = timeout.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return value == value.rounded() ? String(Int64(value)) : String(value)
    }

    /// The LISTEN connection's settings (the same server, user and schema as the pool).
    var connectionConfiguration: PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }
}

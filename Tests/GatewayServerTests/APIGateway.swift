import Foundation
import GatewayModel
import GatewayServer
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport

/// The gateway as `xgw serve` builds it (the one `buildApplication`), run in the test process on
/// its own temporary data folder: a real SQLite file, real OpenSSL keys created on first start,
/// the repository's Mappings/ and seeds/. Requests go through HummingbirdTesting: `.router` hands
/// them to the application's responder (middleware included), `.live` sends them over a loopback
/// socket to the real HTTP server. Its log lines are kept in `log`.
struct APIGateway {
    let data: URL
    let configuration: ServerConfiguration
    let log = APILog()

    /// A fresh data folder, removed by `remove()`; `file` and `environment` are read as `xgw serve`
    /// reads its `--config` file and environment (the folder and an ephemeral port come last).
    static func temporary(
        environment: [String: String] = [:], file: (_ data: URL) throws -> String? = { _ in nil }
    ) throws -> APIGateway {
        let data = try ServerProcess.temporaryDirectory()
        return try APIGateway(data: data, environment: environment, file: try file(data))
    }

    init(data: URL, environment: [String: String] = [:], file: String? = nil) throws {
        self.data = data
        var base = ServerConfiguration()
        base.mappingsDirectory = TestBinary.repositoryRoot.appendingPathComponent("Mappings").path
        base.seedsDirectory = TestBinary.repositoryRoot.appendingPathComponent("seeds").path
        var environment = environment
        environment["XGW_DATA"] = data.path
        environment["XGW_PORT"] = "0"
        configuration = try ServerConfiguration.load(file: file, environment: environment, base: base)
    }

    func remove() { try? FileManager.default.removeItem(at: data) }

    /// Opens the gateway on the data folder (a first start creates the PKI and tokens; a later one,
    /// as after a restart, reuses them), runs `test` against its API, then shuts the application
    /// down gracefully as SIGTERM does.
    func run<Value: Sendable>(
        _ setup: TestingSetup = .router, _ test: @Sendable (APIClient, Gateway) async throws -> Value
    ) async throws -> Value {
        let log = self.log
        let logger = Logger(label: "xgw") { label in APILog.Handler(label: label, log: log) }
        let (application, gateway) = try buildApplication(configuration: configuration, logger: logger)
        return try await application.test(setup) { client in try await test(APIClient(client: client), gateway) }
    }
}

extension Gateway {
    /// The tokens this start created (name → token), as `xgw serve` prints them once.
    var tokensByName: [String: String] { Dictionary(createdTokens, uniquingKeysWith: { first, _ in first }) }
}

/// The API as a client calls it: the same calls as `HTTPClient` (bearer token, raw or JSON body),
/// answered as an `HTTPAnswer`.
struct APIClient: Sendable {
    let client: any TestClientProtocol

    func call(
        _ method: String, _ path: String, token: String? = nil, body: [UInt8]? = nil, json: JSONValue? = nil
    ) async throws -> HTTPAnswer {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        var bytes = body
        if let json {
            bytes = json.canonicalBytes()
            headers[.contentType] = "application/json"
        }
        guard let method = HTTPRequest.Method(method) else { throw TestFailure("not a method: \(method)") }
        let response = try await client.executeRequest(
            uri: path, method: method, headers: headers,
            body: bytes.map { ByteBuffer(bytes: $0) })
        var fields: [String: String] = [:]
        for field in response.headers {
            fields[field.name.rawName] = fields[field.name.rawName].map { "\($0), \(field.value)" } ?? field.value
        }
        return HTTPAnswer(status: response.status.code, headers: fields, body: Array(response.body.readableBytesView))
    }
}

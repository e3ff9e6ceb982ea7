import AsyncHTTPClient
import Foundation
import GatewayModel
import NIOCore
import NIOHTTP1

/// A plain HTTP/1.1 client for loopback tests, over async-http-client (the client the gateway's
/// forwarders use). FoundationNetworking's URLSession was replaced: under a loaded machine its
/// calls could stay pending on sockets whose answers had arrived (CLOSE-WAIT), hanging a test run.
public struct HTTPClient: Sendable {
    public let port: Int
    public init(port: Int) { self.port = port }

    /// One client for every test: its connection pool and event loops live as long as the process.
    static let shared: AsyncHTTPClient.HTTPClient = {
        var configuration = AsyncHTTPClient.HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        configuration.timeout = .init(connect: .seconds(10))
        // A refused connection fails the call at once. The default retries it with back-off until the
        // connect timeout, so each call to a killed server's port cost 10 s (50 acks to a node killed
        // and restarted on a new port once outlasted a test's time limit). On loopback a refusal
        // means nothing listens there (a server whose backlog is full drops the SYN, which is
        // retried within the connect timeout, not refused); every server a test calls already
        // listens (ServerProcess returns once it printed its port).
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return AsyncHTTPClient.HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The largest answer a test reads (the biggest is a lease of many envelopes).
    static let maximumAnswerBytes = 256 << 20

    public func call(
        _ method: String, _ path: String, token: String? = nil, body: [UInt8]? = nil, json: JSONValue? = nil,
        headers: [String: String] = [:], timeout: TimeInterval? = nil
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (k, v) in headers { request.headers.replaceOrAdd(name: k, value: v) }
        if let json {
            request.body = .bytes(ByteBuffer(bytes: json.canonicalBytes()))
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        } else if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let seconds = Int64(((timeout ?? 120) * 1000).rounded())
        let response = try await Self.shared.execute(request, timeout: .milliseconds(seconds))
        let bytes = try await response.body.collect(upTo: Self.maximumAnswerBytes)
        var fields: [String: String] = [:]
        for header in response.headers {
            // Repeated fields are joined as HTTP allows (the tests compare single-valued ones).
            fields[header.name] = fields[header.name].map { $0 + ", " + header.value } ?? header.value
        }
        return HTTPAnswer(status: Int(response.status.code), headers: fields, body: Array(buffer: bytes))
    }
}

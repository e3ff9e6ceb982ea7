import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import GatewayServer

/// The sign-in rate limit: its decisions without I/O (`SignInThrottle`, time passed in), then the
/// API's bearer authentication and the console's sign-in form over real HTTP.
@Suite struct SignInThrottleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let limits = SignInThrottle.Limits(maxFailures: 3, window: 60, capacity: 100)

    @Test func refusesAfterTheAllowanceUntilTheWindowCloses() {
        var throttle = SignInThrottle(limits: limits)
        #expect(throttle.decide("10.0.0.1", now: start) == .allow)
        #expect(throttle.failed("10.0.0.1", now: start) == .allow)
        #expect(throttle.failed("10.0.0.1", now: start + 10) == .allow)
        // The third failure uses the allowance up: refused until 60 s after the first.
        #expect(throttle.failed("10.0.0.1", now: start + 20) == .refuse(retryAfter: 40))
        #expect(throttle.decide("10.0.0.1", now: start + 20) == .refuse(retryAfter: 40))
        #expect(throttle.decide("10.0.0.1", now: start + 59.2) == .refuse(retryAfter: 1), "rounded up, never 0")
        #expect(throttle.decide("10.0.0.2", now: start + 20) == .allow, "per client")
        // The window closes: the count starts again from the next failure.
        #expect(throttle.decide("10.0.0.1", now: start + 60) == .allow)
        #expect(throttle.failed("10.0.0.1", now: start + 61) == .allow)
        #expect(throttle.entries["10.0.0.1"] == SignInThrottle.Entry(windowStart: start + 61, failures: 1))
    }

    @Test func failuresSpreadOverWindowsNeverAddUp() {
        var throttle = SignInThrottle(limits: limits)
        for window in 0..<5 {
            let opens = start + Double(window) * 60
            #expect(throttle.failed("10.0.0.1", now: opens) == .allow)
            #expect(throttle.failed("10.0.0.1", now: opens + 59) == .allow, "window \(window)")
        }
    }

    @Test func theTableIsCappedOldestFirstAndClosedWindowsGoFirst() {
        var throttle = SignInThrottle(limits: limits)
        // A locked client, then a flood of others.
        for _ in 0..<3 { throttle.failed("locked", now: start) }
        for i in 0..<99 { throttle.failed("flood-\(i)", now: start + 1) }
        #expect(throttle.entries.count == 100)
        // Full, every window open: the oldest tenth goes (the locked client among them).
        throttle.failed("one-more", now: start + 2)
        #expect(throttle.entries.count == 91)
        #expect(throttle.entries["locked"] == nil && throttle.entries["one-more"] != nil)
        // A client already in the table is counted without evicting anyone.
        throttle.failed("one-more", now: start + 3)
        #expect(throttle.entries.count == 91)
        // Millions of addresses never grow it past the capacity.
        for i in 0..<5000 { throttle.failed("many-\(i)", now: start + 4 + Double(i) / 1000) }
        #expect(throttle.entries.count <= 100)
        // Once the windows have closed, a new client sweeps them all out.
        throttle = SignInThrottle(limits: limits)
        for i in 0..<100 { throttle.failed("old-\(i)", now: start) }
        throttle.failed("new", now: start + 61)
        #expect(throttle.entries.count == 1 && throttle.entries["new"] != nil)
    }

    @Test func clientsAreAddressesAndIPv6ByItsSlash64() throws {
        #expect(SignInThrottle.client(try SocketAddress(ipAddress: "192.0.2.7", port: 1234)) == "192.0.2.7")
        #expect(SignInThrottle.client(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)) == "192.0.2.7")
        let a = SignInThrottle.client(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1))
        let b = SignInThrottle.client(try SocketAddress(ipAddress: "2001:db8:1:2:ffff:1:2:3", port: 2))
        let c = SignInThrottle.client(try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1))
        #expect(a == "2001:db8:1:2::/64" && a == b && a != c, "\(a) \(b) \(c)")
        #expect(SignInThrottle.client(nil) == "local")
    }

    // MARK: Over HTTP

    static func withServer(_ test: @Sendable (any TestClientProtocol, [String: String], APILog) async throws -> Void) async throws {
        let gateway = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"])
        defer { gateway.remove() }
        let log = gateway.log
        let logger = Logger(label: "xgw") { label in APILog.Handler(label: label, log: log) }
        let (application, built) = try buildApplication(configuration: gateway.configuration, logger: logger)
        let tokens = built.tokensByName
        try await application.test(.live) { client in try await test(client, tokens, log) }
    }

    static func get(_ client: any TestClientProtocol, _ path: String, token: String?) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.executeRequest(uri: path, method: .get, headers: headers, body: nil)
    }

    /// The default allowance (10 invalid tokens per 5 minutes) over the API: valid tokens are never
    /// refused before it is used up, then every token of this client is refused unchecked with a
    /// 429 in the JSON error shape, and the console's sign-in form refuses it too (one count).
    @Test func theAPIRefusesAClientAfterTenInvalidTokensAndTheConsoleToo() async throws {
        try await Self.withServer { client, tokens, log in
            let ops = try #require(tokens["ops"])
            // Many valid requests count nothing.
            for _ in 0..<25 { #expect(try await Self.get(client, "/v1/ops/queues", token: ops).status == .ok) }
            for attempt in 1...9 {
                #expect(try await Self.get(client, "/v1/ops/queues", token: "xgw_guess\(attempt)").status == .unauthorized)
            }
            // Still below the allowance: a valid token goes through (and clears nothing).
            #expect(try await Self.get(client, "/v1/ops/queues", token: ops).status == .ok)
            #expect(try await Self.get(client, "/v1/receipts", token: "xgw_guess10").status == .unauthorized)
            #expect(!log.text.contains("xgw_guess"), "a token is never logged")
            #expect(log.text.contains("too many invalid tokens"), "the refusal's start is logged")

            let refused = try await Self.get(client, "/v1/ops/queues", token: ops)
            #expect(refused.status == .tooManyRequests, "the right token is not even checked")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            #expect((1...300).contains(retryAfter))
            let body = String(buffer: refused.body)
            #expect(body.contains(#""code":"too-many-failed-tokens""#) && body.contains("retry in \(retryAfter) seconds"), "\(body)")
            #expect(refused.headers[HTTPField.Name("X-Request-Id")!].map { body.contains($0) } == true)
            // A request without a token is not refused (nothing to check).
            #expect(try await Self.get(client, "/healthz", token: nil).status == .ok)
            #expect(try await Self.get(client, "/v1/ops/queues", token: nil).status == .unauthorized)

            let browser = ConsoleTests.Browser(client)
            let page = try await browser.signIn(ops)
            #expect(page.status == 429 && page.headers[.retryAfter] != nil)
            #expect(page.text.contains("登录失败次数过多") && page.text.contains("Too many failed sign-ins"), "\(page.text.prefix(400))")
            #expect(page.cookie("xgw_session") == nil, "no session")
        }
    }

    /// The console's form counts the same way: ten wrong tokens, then even the ops token is refused
    /// with the page's message, and the API refuses this client's bearer tokens as well.
    @Test func theConsoleRefusesASignInAfterTenWrongTokens() async throws {
        try await Self.withServer { client, tokens, _ in
            let ops = try #require(tokens["ops"])
            let browser = ConsoleTests.Browser(client)
            // A successful sign-in is not slowed or counted.
            for _ in 0..<12 {
                #expect(try await browser.signIn(ops).status == 303)
                browser.jar["xgw_session"] = nil
            }
            for attempt in 1...10 {
                let wrong = try await browser.signIn("xgw_wrong\(attempt)")
                #expect(wrong.status == 401 && wrong.text.contains("令牌无效"), "attempt \(attempt)")
            }
            let refused = try await browser.signIn(ops)
            #expect(refused.status == 429 && refused.text.contains("登录失败次数过多"))
            #expect(refused.text.contains(#"role="alert""#), "announced to screen readers")
            #expect(refused.cookie("xgw_session") == nil)
            #expect(refused.headers[.contentSecurityPolicy] != nil, "still a console page with its headers")
            #expect(try await Self.get(client, "/v1/ops/queues", token: ops).status == .tooManyRequests)
        }
    }
}

import Foundation
import GatewayModel
import GatewayServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport
import Testing

/// Issue 15: the ops console's server side over real HTTP (`.live`: a loopback socket to the
/// application `buildApplication` makes): the sign-in and session cookies' flags, the CSRF
/// refusals, the Content-Security-Policy, and that a participant's session sees only what the API
/// lets its token see.
@Suite struct ConsoleTests {
    /// One answer: status, headers (every `Set-Cookie` kept apart), body.
    struct Page {
        var status: Int
        var headers: HTTPFields
        var text: String
        var cookies: [String] { headers[values: .setCookie] }
        func cookie(_ name: String) -> String? { cookies.first { $0.hasPrefix(name + "=") } }
        /// The value of the first `name="_csrf" value="…"` in the page.
        var csrf: String? {
            guard let range = text.range(of: #"name="_csrf" value=""#) else { return nil }
            return String(text[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    /// A browser-like client: keeps the cookies the console sets.
    final class Browser: @unchecked Sendable {
        let client: any TestClientProtocol
        var jar: [String: String] = [:]
        init(_ client: any TestClientProtocol) { self.client = client }

        func request(_ method: HTTPRequest.Method, _ path: String, form: [String: String]? = nil) async throws -> Page {
            var headers = HTTPFields()
            if !jar.isEmpty { headers[.cookie] = jar.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
            var body: ByteBuffer?
            if let form {
                headers[.contentType] = "application/x-www-form-urlencoded"
                body = ByteBuffer(string: form.map { "\($0.key)=\(Self.encode($0.value))" }.joined(separator: "&"))
            }
            let response = try await client.executeRequest(uri: path, method: method, headers: headers, body: body)
            let page = Page(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
            for cookie in page.cookies {
                let pair = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = pair.count == 2 ? String(pair[1]) : ""
                if cookie.contains("Max-Age=0") || value.isEmpty { jar[String(pair[0])] = nil } else { jar[String(pair[0])] = value }
            }
            return page
        }

        static func encode(_ s: String) -> String {
            s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
        }

        /// Opens the sign-in page and signs in with `token`.
        @discardableResult
        func signIn(_ token: String) async throws -> Page {
            let form = try await request(.get, "/console/signin")
            return try await request(.post, "/console/signin", form: ["_csrf": form.csrf ?? "", "token": token])
        }
    }

    /// Submits the three-record Sichuan fixture through the API with `token`, expects 200, and
    /// returns the answer (its `records` name each envelope and record id).
    static func submitThreeRecords(_ client: any TestClientProtocol, token: String) async throws -> JSONValue {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        let submitted = try await client.executeRequest(
            uri: "/v1/documents", method: .post, headers: headers,
            body: ByteBuffer(bytes: try fixture("sc-traffic-xml/002-batch-three-utf8.xml")))
        #expect(submitted.status == .ok)
        return try JSONParser.parse(Array(submitted.body.readableBytesView))
    }

    static func withConsole(
        yaml: String? = nil, _ test: @Sendable (any TestClientProtocol, [String: String]) async throws -> Void
    ) async throws {
        let gateway = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"]) { data in
            guard let yaml else { return nil }
            let file = data.appendingPathComponent("xgw.yaml")
            try Data(yaml.utf8).write(to: file)
            return file.path
        }
        defer { gateway.remove() }
        let log = gateway.log
        let logger = Logger(label: "xgw") { label in APILog.Handler(label: label, log: log) }
        let (application, built) = try buildApplication(configuration: gateway.configuration, logger: logger)
        let tokens = built.tokensByName
        try await application.test(.live) { client in try await test(client, tokens) }
    }

    @Test func signInSetsStrictHttpOnlyCookiesAndEveryPageHasTheContentSecurityPolicy() async throws {
        try await Self.withConsole { client, tokens in
            let browser = Browser(client)
            // Not signed in: the overview sends to the sign-in page.
            let before = try await browser.request(.get, "/console/")
            #expect(before.status == 303 && before.headers[.location] == "/console/signin")

            let form = try await browser.request(.get, "/console/signin")
            #expect(form.status == 200)
            let csp = try #require(form.headers[.contentSecurityPolicy])
            #expect(csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "\(csp)")
            #expect(form.headers[.xContentTypeOptions] == "nosniff")
            #expect(form.text.contains("<label for=\"token\">") && form.text.contains("登录 Sign in"))
            #expect(!form.text.contains("<script>"), "no inline script")
            let signInCookie = try #require(form.cookie("xgw_signin"))
            #expect(signInCookie.contains("HttpOnly") && signInCookie.contains("SameSite=Strict"))
            #expect(!signInCookie.contains("Secure"), "plain HTTP: no Secure flag, or the browser would drop it")

            // A wrong token: 401, the form again, no session.
            let wrong = try await browser.request(.post, "/console/signin", form: ["_csrf": form.csrf ?? "", "token": "xgw_wrong"])
            #expect(wrong.status == 401 && wrong.text.contains("令牌无效"))
            #expect(wrong.cookie("xgw_session") == nil)

            let signedIn = try await browser.signIn(try #require(tokens["ops"]))
            #expect(signedIn.status == 303 && signedIn.headers[.location] == "/console/")
            let session = try #require(signedIn.cookie("xgw_session"), "\(signedIn.cookies)")
            for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] { #expect(session.contains(flag), "\(flag) in \(session)") }
            let id = String(session.split(separator: ";")[0].dropFirst("xgw_session=".count))
            #expect(id.count == 64 && !id.contains(tokens["ops"]!), "a random id, not the token: \(id)")

            let overview = try await browser.request(.get, "/console/")
            #expect(overview.status == 200)
            #expect(overview.headers[.contentSecurityPolicy] == csp)
            #expect(overview.text.contains("排队 Queued") && overview.text.contains("renshi"), "\(overview.text.prefix(2000))")
            let css = try await browser.request(.get, "/console/assets/console.css")
            #expect(css.status == 200 && css.headers[.contentType]?.hasPrefix("text/css") == true)
        }
    }

    @Test func formsWithoutTheirCSRFTokenAreRefused() async throws {
        try await Self.withConsole { client, tokens in
            let browser = Browser(client)
            // Sign-in without the form's token (a page elsewhere posting a token): 403, no session.
            _ = try await browser.request(.get, "/console/signin")
            let forged = try await browser.request(.post, "/console/signin", form: ["token": try #require(tokens["ops"])])
            #expect(forged.status == 403 && forged.cookie("xgw_session") == nil)

            try await browser.signIn(try #require(tokens["ops"]))
            let overview = try await browser.request(.get, "/console/")
            let csrf = try #require(overview.csrf)
            // Sign-out without, then with a wrong token: 403 and still signed in.
            #expect(try await browser.request(.post, "/console/signout", form: [:]).status == 403)
            #expect(try await browser.request(.post, "/console/signout", form: ["_csrf": String(csrf.reversed())]).status == 403)
            #expect(try await browser.request(.get, "/console/").status == 200)
            // A page's form without the token: 403 before the page sees it.
            #expect(try await browser.request(.post, "/console/messages", form: ["envelopeId": "x"]).status == 403)
            // With it: signed out, the session gone on the server (its old cookie no longer opens a page).
            let old = browser.jar
            let out = try await browser.request(.post, "/console/signout", form: ["_csrf": csrf])
            #expect(out.status == 303 && out.headers[.location] == "/console/signin")
            browser.jar = old
            #expect(try await browser.request(.get, "/console/").status == 303)
        }
    }

    @Test func aParticipantSeesOnlyItsOwnMessages() async throws {
        try await Self.withConsole { client, tokens in
            let renshi = try #require(tokens["renshi"]), xinsheng = try #require(tokens["xinsheng"])
            let kaijiang = try #require(tokens["kaijiang"]), ops = try #require(tokens["ops"])
            // renshi sends three records to xinsheng through the API.
            let answer = try await Self.submitThreeRecords(client, token: renshi)
            let envelopes = (answer["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
            try #require(envelopes.count == 3, "\(answer)")

            for (token, sees) in [(ops, true), (renshi, true), (xinsheng, true), (kaijiang, false)] {
                let browser = Browser(client)
                try await browser.signIn(token)
                let list = try await browser.request(.get, "/console/messages")
                #expect(list.status == 200)
                for id in envelopes { #expect(list.text.contains(id) == sees, "\(id) listed: \(!sees)") }
                let detail = try await browser.request(.get, "/console/messages/\(envelopes[0])")
                #expect(detail.status == (sees ? 200 : 404), "\(detail.text.prefix(500))")
                if sees {
                    #expect(detail.text.contains("签名有效"), "the signature verifies")
                    #expect(detail.text.contains("<strong>排队 queued</strong>"), "the history")
                } else {
                    #expect(!detail.text.contains(envelopes[0] + "</code>"))
                }
                // Searching by envelope id finds exactly that one.
                let search = try await browser.request(.get, "/console/messages?envelopeId=\(envelopes[1])")
                // (the search field repeats the id: look for the row's link)
                #expect(search.text.contains("/console/messages/\(envelopes[1])") == sees, "\(search.text)")
                #expect(!search.text.contains(envelopes[2]))
            }
            // The overview of a participant shows its own queue only.
            let browser = Browser(client)
            try await browser.signIn(kaijiang)
            let overview = try await browser.request(.get, "/console/")
            #expect(overview.text.contains(">kaijiang</a>") && !overview.text.contains(">xinsheng</a>"), "\(overview.text.prefix(3000))")
        }
    }

    /// Over TLS the cookies are `Secure` too (a real `xgw serve` with an openssl-made certificate, read with curl).
    @Test func overTLSTheCookiesAreSecure() async throws {
        let folder = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let office = try OfficeCertificate(in: folder, commonName: "console.example")
        let (certificate, config) = (office.certificate, office.config)
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let server = try await ServerProcess.start(data: data, arguments: ["--config", config])
        defer { server.killNow() }
        #expect(server.stdout.contains("console at https://127.0.0.1:\(server.port)/console/"), "\(server.stdout)")
        let answer = try TestBinary.runCommand(
            "/usr/bin/curl", ["-sS", "--cacert", certificate, "-D", "-", "-o", "/dev/null", "https://127.0.0.1:\(server.port)/console/signin"])
        let cookie = answer.output.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie: xgw_signin=") }
        let line = try #require(cookie, "\(answer.output) \(answer.error)")
        for flag in ["Secure", "HttpOnly", "SameSite=Strict"] { #expect(line.contains(flag), "\(flag) in \(line)") }
    }

    /// The message page shows the record as a destination with a configured delivery format gets
    /// it (here sc-traffic-xml, written in GBK: decoded for display, escaped), to ops and to that
    /// destination; the sender, who sees the masked payload, does not see the unmasked document.
    @Test func theMessagePageShowsTheRenderedDocumentToOpsAndTheDestinationOnly() async throws {
        let yaml = """
            participants:
              xinsheng:
                delivery:
                  formats:
                    traffic-violation: sc-traffic-xml
            """
        try await Self.withConsole(yaml: yaml) { client, tokens in
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(try #require(tokens["renshi"]))"
            let submitted = try await client.executeRequest(
                uri: "/v1/documents", method: .post, headers: headers,
                body: ByteBuffer(bytes: try fixture("sc-traffic-xml/002-batch-three-utf8.xml")))
            #expect(submitted.status == .ok)
            let answer = try JSONParser.parse(Array(submitted.body.readableBytesView))
            let first = try #require(answer["records"]?.arrayValue?.first?["envelopeId"]?.stringValue, "\(answer)")

            for (name, sees) in [("ops", true), ("xinsheng", true), ("renshi", false)] {
                let browser = Browser(client)
                try await browser.signIn(try #require(tokens[name]))
                let detail = try await browser.request(.get, "/console/messages/\(first)")
                #expect(detail.status == 200, "\(name): \(detail.text.prefix(500))")
                guard let start = detail.text.range(of: "rendered-heading") else {
                    #expect(!sees, "\(name) sees no rendered document: \(detail.text)")
                    continue
                }
                #expect(sees, "\(name), the sender, sees the unmasked document")
                let end = detail.text.range(of: "history-heading")?.lowerBound ?? detail.text.endIndex
                let section = String(detail.text[start.upperBound..<end])
                #expect(section.contains("→ xinsheng: <code>sc-traffic-xml</code>"), "\(section)")
                #expect(section.contains("application/xml; charset=GBK"), "\(section)")
                // The GBK body decoded (a place name of the record), and escaped: no markup of the document in the page.
                #expect(section.contains("任市镇中心街与滨河路交叉口") && section.contains("&lt;"), "\(section)")
                #expect(!section.contains("<wfdz") && !section.contains("<?xml") && !section.contains("binary"), "\(section)")
            }
        }
    }
}

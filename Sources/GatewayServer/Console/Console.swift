import Foundation
import GatewayModel
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore

/// The ops console (issue 15): HTML pages at `/console/`, served by the gateway's own process and
/// port. Sign-in takes an API token (ops: everything; a participant's: its own inbox, outbox and
/// receipts, the API's rules) and gives a session cookie; every state-changing form carries the
/// session's CSRF token; every answer carries a strict Content-Security-Policy. See docs/console.md.
final class Console: Sendable {
    /// Every page, in navigation order. A new page is a new file with a `ConsolePage` type, added here.
    static let pages: [any ConsolePage.Type] = [
        OverviewPage.self, MessagesPage.self, MessagePage.self, DeadLettersPage.self, PlaygroundPage.self, ParticipantsPage.self,
    ]

    static let sessionCookie = "xgw_session"
    static let signInCookie = "xgw_signin"
    /// The largest form body a page accepts.
    static let maxFormBytes = 1 << 20

    /// No inline script or style, nothing from another origin, no framing.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

    let gateway: Gateway
    let sessions = ConsoleSessions()
    /// The sign-in rate limit, shared with the API's bearer authentication.
    let signIns: SignInGuard
    let library: MustacheLibrary
    /// Cookies are `Secure` when the office API is served over TLS.
    let secure: Bool

    init(gateway: Gateway, signIns: SignInGuard) throws {
        self.gateway = gateway
        self.signIns = signIns
        self.secure = gateway.configuration.tls != nil
        var library = MustacheLibrary()
        try library.register(ConsoleAssets.layout, named: "layout")
        try library.register(SignInPage.template, named: "signin")
        try library.register(Self.errorTemplate, named: "error")
        for page in Self.pages { try library.register(page.template, named: page.templateName) }
        self.library = library
    }

    static let errorTemplate = """
        <p class="error" role="alert">{{message}}</p>
        <p><a href="/console/">返回概览 Back to the overview</a></p>
        """

    // MARK: Routes

    func addRoutes(to router: Router<GatewayContext>) {
        router.get("console/assets/console.css") { _, _ in Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("console/assets/console.js") { _, _ in Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("console/signin") { request, context in
            await self.respond(context) { try self.signInForm(request, error: nil, status: .ok) }
        }
        router.post("console/signin") { request, context in
            await self.respond(context) { try await self.signIn(request, context: context) }
        }
        router.post("console/signout") { request, context in
            await self.respond(context) { try await self.signOut(request, context: context) }
        }
        for page in Self.pages { register(page, on: router) }
    }

    private func register<P: ConsolePage>(_ page: P.Type, on router: Router<GatewayContext>) {
        let path = P.path.isEmpty ? "console" : "console/" + P.path
        let names = P.path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) }
        router.get(RouterPath(path)) { request, context in
            await self.respond(context) { try await self.serve(P.self, request: request, context: context, names: names, post: false) }
        }
        router.post(RouterPath(path)) { request, context in
            await self.respond(context) { try await self.serve(P.self, request: request, context: context, names: names, post: true) }
        }
    }

    private func serve<P: ConsolePage>(
        _ page: P.Type, request: Request, context: GatewayContext, names: [String], post: Bool
    ) async throws -> Response {
        let sessionId = ConsoleFormat.cookie(Self.sessionCookie, in: request.headers[.cookie])
        guard let session = sessions.session(sessionId) else {
            if post { throw ConsoleError(.forbidden, "会话已结束，请重新登录 The session has ended: sign in again") }
            return Self.redirect("/console/signin")
        }
        if P.requiresOps && session.principal != .ops {
            throw ConsoleError(.forbidden, "此页面需要运维令牌 This page needs the ops token")
        }
        var form: [String: String] = [:]
        if post {
            let body = try await readBody(request, limit: Self.maxFormBytes)
            // A form with a file input (the mapping playground) comes as multipart/form-data.
            form = ConsoleMultipart.fields(body, contentType: request.headers[.contentType]) ?? ConsoleFormat.form(body)
            guard let csrf = form["_csrf"], ConsoleSessions.same(csrf, session.csrf) else {
                context.logger.info("console form refused: no or wrong CSRF token", metadata: ["page": .string(P.templateName)])
                throw ConsoleError(.forbidden, "表单缺少有效的 CSRF 令牌 The form lacks a valid CSRF token")
            }
        }
        var parameters: [String: String] = [:]
        for name in names { parameters[name] = context.parameters.get(name) }
        let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { first, _ in first })
        let consoleRequest = ConsoleRequest(gateway: gateway, session: session, query: query, form: form, parameters: parameters)
        let view = post ? try await P.post(consoleRequest) : try await P.get(consoleRequest)
        switch view {
        case .redirect(let location):
            return Self.redirect(location)
        case .page(let title, var data):
            data["csrf"] = session.csrf
            let body = library.render(data, withTemplate: P.templateName) ?? ""
            return html(layout(title: title, body: body, session: session, current: P.templateName))
        }
    }

    /// Runs a console handler; a refusal or failure becomes an HTML error page with its status.
    private func respond(_ context: GatewayContext, _ handler: () async throws -> Response) async -> Response {
        do {
            return try await handler()
        } catch let error as ConsoleError {
            return errorPage(error.status, error.message)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 {
                context.logger.error("console page failed", metadata: ["type": .string(String(describing: type(of: error)))])
            }
            return errorPage(apiError.status, apiError.message)
        }
    }

    private func errorPage(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let body = library.render(["message": message], withTemplate: "error") ?? ""
        return html(layout(title: "错误 Error \(status.code)", body: body, session: nil, current: nil), status: status)
    }

    // MARK: Sign-in and sign-out

    private func signInForm(_ request: Request, error: String?, status: HTTPResponse.Status) throws -> Response {
        if error == nil, sessions.session(ConsoleFormat.cookie(Self.sessionCookie, in: request.headers[.cookie])) != nil {
            return Self.redirect("/console/")
        }
        // Login CSRF: the form's token must equal this cookie's (a page elsewhere cannot read or set it).
        let token = ConsoleSessions.randomHex()
        var data: [String: Any] = ["csrf": token]
        if let error { data["error"] = error }
        let body = library.render(data, withTemplate: "signin") ?? ""
        var response = html(layout(title: "登录 Sign in", body: body, session: nil, current: nil), status: status)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.signInCookie, token, maxAge: 3600)))
        return response
    }

    private func signIn(_ request: Request, context: GatewayContext) async throws -> Response {
        let form = ConsoleFormat.form(try await readBody(request, limit: 64 << 10))
        guard let expected = ConsoleFormat.cookie(Self.signInCookie, in: request.headers[.cookie]), let csrf = form["_csrf"],
            ConsoleSessions.same(csrf, expected)
        else {
            context.logger.info("console sign-in refused: no or wrong CSRF token")
            throw ConsoleError(.forbidden, "表单缺少有效的 CSRF 令牌，请重新打开登录页 The form lacks a valid CSRF token: open the sign-in page again")
        }
        if case .refuse(let retryAfter) = signIns.decide(context.remoteAddress) {
            // The token is not checked: a right one would otherwise tell a guess from a miss.
            context.logger.info("console sign-in refused: too many invalid tokens from this client")
            var response = try signInForm(
                request,
                error: "登录失败次数过多，请 \(retryAfter) 秒后再试 Too many failed sign-ins from this address: try again in \(retryAfter) seconds",
                status: .tooManyRequests)
            response.headers[.retryAfter] = String(retryAfter)
            return response
        }
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard let principal = gateway.tokens.principal(token: token) else {
            context.logger.info("console sign-in refused: unknown token")
            signIns.failed(context.remoteAddress, logger: context.logger)
            return try signInForm(request, error: "令牌无效 The token is not valid", status: .unauthorized)
        }
        let (id, _) = sessions.create(principal)
        context.logger.info("console sign-in", metadata: ["caller": .string(TokenStore.name(principal))])
        var response = Self.redirect("/console/")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, id, maxAge: Int(ConsoleSessions.lifetime))))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.signInCookie, "", maxAge: 0)))
        return response
    }

    private func signOut(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = ConsoleFormat.cookie(Self.sessionCookie, in: request.headers[.cookie])
        guard let session = sessions.session(id) else { return Self.redirect("/console/signin") }
        let form = ConsoleFormat.form(try await readBody(request, limit: 64 << 10))
        guard let csrf = form["_csrf"], ConsoleSessions.same(csrf, session.csrf) else {
            throw ConsoleError(.forbidden, "表单缺少有效的 CSRF 令牌 The form lacks a valid CSRF token")
        }
        sessions.remove(id)
        context.logger.info("console sign-out", metadata: ["caller": .string(TokenStore.name(session.principal))])
        var response = Self.redirect("/console/signin")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, "", maxAge: 0)))
        return response
    }

    /// `name=value; Path=/console; HttpOnly; SameSite=Strict; Max-Age=…` (and `Secure` on TLS).
    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    // MARK: Rendering

    private func layout(title: String, body: String, session: ConsoleSession?, current: String?) -> String {
        var data: [String: Any] = ["title": title, "body": body]
        if let session {
            data["signedIn"] = true
            data["csrf"] = session.csrf
            data["who"] = session.principal == .ops ? "运维 ops" : TokenStore.name(session.principal)
            data["navigation"] = Self.pages.compactMap { page -> [String: Any]? in
                guard let nav = page.navigation, !nav.opsOnly || session.principal == .ops else { return nil }
                return [
                    "href": "/console/" + page.path, "chinese": nav.chinese, "english": nav.english,
                    "current": page.templateName == current,
                ]
            }
        }
        return library.render(data, withTemplate: "layout") ?? ""
    }

    private func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static var securityHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[.cacheControl] = "no-store"
        return headers
    }

    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The console's routes on the gateway's router (`buildApplication`).
func addConsoleRoutes(to router: Router<GatewayContext>, gateway: Gateway, signIns: SignInGuard) throws {
    try Console(gateway: gateway, signIns: signIns).addRoutes(to: router)
}

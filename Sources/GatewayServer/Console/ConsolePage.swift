import Foundation
import Hummingbird

/// One page of the ops console (issue 15): one file per page, listed in `Console.pages`. A page
/// names its route under `/console/`, its Mustache template (rendered inside the layout, HTML
/// escaped by `{{…}}`), and what GET (and, when it changes state, POST) answer. The console checks
/// the session before either runs, and the CSRF token before `post`; `requiresOps` pages answer
/// 403 to a participant's session.
protocol ConsolePage: SendableMetatype {
    /// The route under `/console/` (`""` is the overview; parameters as `:name`).
    static var path: String { get }
    /// The page's template (the part inside the layout's `<main>`).
    static var template: String { get }
    /// Its entry in the navigation bar; nil for pages reached by a link only.
    static var navigation: ConsoleNavigation? { get }
    /// Only the ops token's sessions may open it.
    static var requiresOps: Bool { get }
    static func get(_ request: ConsoleRequest) async throws -> ConsoleView
    /// A form's submission, its CSRF token already checked.
    static func post(_ request: ConsoleRequest) async throws -> ConsoleView
}

extension ConsolePage {
    static var navigation: ConsoleNavigation? { nil }
    static var requiresOps: Bool { false }
    static func post(_ request: ConsoleRequest) async throws -> ConsoleView {
        throw ConsoleError(.methodNotAllowed, "此页面不接受表单 This page takes no form")
    }
    /// The template's name in the console's library.
    static var templateName: String { String(describing: Self.self) }
}

/// A navigation entry: Chinese label beside the English one.
struct ConsoleNavigation: Sendable {
    var chinese: String
    var english: String
    /// Shown only to the ops token's sessions.
    var opsOnly = false
}

/// What a page handler sees: the gateway, who is signed in, the query, the form (POST), the route's parameters.
struct ConsoleRequest: Sendable {
    let gateway: Gateway
    let session: ConsoleSession
    let query: [String: String]
    let form: [String: String]
    let parameters: [String: String]

    var principal: Principal { session.principal }
    var isOps: Bool { principal == .ops }
    /// The participant signed in; nil for the ops token.
    var participant: String? {
        if case .participant(let id) = principal { return id }
        return nil
    }

    /// A query value, empty strings as nil.
    func query(_ name: String) -> String? {
        guard let value = query[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }
}

/// A page's answer: HTML rendered from its template, or a redirect (303, after a form).
enum ConsoleView {
    case page(title: String, data: [String: Any])
    case redirect(String)
}

/// A refusal shown as an HTML error page with its status.
struct ConsoleError: Error, Sendable {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

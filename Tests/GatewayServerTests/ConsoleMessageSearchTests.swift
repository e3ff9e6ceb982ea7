import Foundation
import GatewayModel
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Issue 15: the console's message browser searches the whole queue (`MessageQueue.search`): its
/// query parameters reach the queue's filters, the next page's link carries a cursor (`before`),
/// a refused field searches nothing, and a participant's session stays within its own messages.
@Suite struct ConsoleMessageSearchTests {
    typealias Browser = ConsoleTests.Browser

    /// Envelope ids of the page's rows, in the order shown.
    static func rows(_ text: String) -> [String] {
        text.components(separatedBy: #"<a href="/console/messages/"#).dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    @Test func filtersAndTheCursorReachTheQueue() async throws {
        try await ConsoleTests.withConsole { client, tokens in
            let renshi = try #require(tokens["renshi"]), ops = try #require(tokens["ops"]), kaijiang = try #require(tokens["kaijiang"])
            let answer = try await ConsoleTests.submitThreeRecords(client, token: renshi)
            let envelopes = (answer["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
            let records = (answer["records"]?.arrayValue ?? []).compactMap { $0["recordId"]?.stringValue }
            try #require(envelopes.count == 3 && records.count == 3, "\(answer)")

            let browser = Browser(client)
            try await browser.signIn(ops)
            // Newest first: the last enqueued on top.
            let all = try await browser.request(.get, "/console/messages")
            #expect(Self.rows(all.text) == envelopes.reversed(), "\(Self.rows(all.text))")
            #expect(!all.text.contains(#"rel="next""#), "three messages fit one page")
            // Each filter, as the form sends it (blank fields mean any).
            for (query, expected) in [
                ("recordId=\(records[1])&envelopeId=&kind=", [envelopes[1]]),
                ("envelopeId=\(envelopes[2])", [envelopes[2]]),
                ("participant=xinsheng&status=queued&kind=traffic-violation", envelopes.reversed()),
                ("participant=kaijiang", []),
                ("kind=bulletin", []),
                ("status=acked", []),
                ("from=2000-01-01T00:00&to=2000-01-02T00:00", []),
                ("from=2000-01-01T00:00", envelopes.reversed()),
            ] {
                let page = try await browser.request(.get, "/console/messages?\(query)")
                #expect(page.status == 200 && Self.rows(page.text) == expected, "\(query): \(Self.rows(page.text))")
            }
            // The cursor: the messages below the newest one's id, and a link back to the newest.
            let newest = try #require(all.text.components(separatedBy: #"<td class="num">"#).dropFirst().first?.prefix { $0 != "<" })
            let older = try await browser.request(.get, "/console/messages?participant=xinsheng&before=\(newest)")
            #expect(Self.rows(older.text) == [envelopes[1], envelopes[0]], "\(Self.rows(older.text))")
            #expect(older.text.contains(#"href="/console/messages?participant=xinsheng" rel="first""#), "\(older.text)")
            // A refused field searches nothing rather than everything.
            for query in ["status=lost", "before=abc", "from=yesterday", "from=2030-01-02T00:00&to=2030-01-01T00:00"] {
                let page = try await browser.request(.get, "/console/messages?\(query)")
                #expect(page.status == 200 && page.text.contains(#"role="alert""#) && Self.rows(page.text).isEmpty, "\(query)")
            }

            // A participant's session: its own messages only, whatever it asks for.
            let other = Browser(client)
            try await other.signIn(kaijiang)
            for query in ["", "participant=xinsheng", "envelopeId=\(envelopes[0])", "recordId=\(records[0])"] {
                let page = try await other.request(.get, "/console/messages?\(query)")
                #expect(Self.rows(page.text).isEmpty, "kaijiang, \(query): \(Self.rows(page.text))")
            }
        }
    }
}

import Foundation
import GatewayModel
import GatewayQueue

/// `/console/messages`: the message browser. Search by envelope id, record id, participant
/// (sender or destination), kind, status and enqueue time range (China Standard Time), 50 a page,
/// newest first, over the whole queue (`MessageQueue.search`, answered from indexes); the next
/// page's link carries a cursor (`before`, the last message id shown), so messages arriving
/// meanwhile neither shift nor repeat a page. Lists ids, kinds, participants, states and times
/// only: no payload, so no personal data.
enum MessagesPage: ConsolePage {
    static let path = "messages"
    static let navigation: ConsoleNavigation? = ConsoleNavigation(chinese: "消息", english: "Messages")
    static let pageSize = 50
    static let statuses = ["queued", "leased", "dead", "acked"]
    static let statusLabels = ["queued": "排队 Queued", "leased": "租用 Leased", "dead": "死信 Dead", "acked": "已确认 Acked"]

    static let template = """
        <form class="search" method="get" action="/console/messages" role="search" aria-label="搜索消息 Search messages">
          <label for="q-envelope">信封编号 Envelope id<input id="q-envelope" name="envelopeId" value="{{envelopeId}}"></label>
          <label for="q-record">记录编号 Record id<input id="q-record" name="recordId" value="{{recordId}}"></label>
          <label for="q-participant">参与方 Participant
            <select id="q-participant" name="participant"><option value="">全部 All</option>
            {{#participants}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{id}}</option>{{/participants}}</select></label>
          <label for="q-kind">类型 Kind
            <select id="q-kind" name="kind"><option value="">全部 All</option>
            {{#kinds}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/kinds}}</select></label>
          <label for="q-status">状态 Status
            <select id="q-status" name="status"><option value="">全部 All</option>
            {{#statuses}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select></label>
          <label for="q-from">起始时间 From (UTC+8)<input id="q-from" name="from" type="datetime-local" value="{{from}}"></label>
          <label for="q-to">结束时间 To (UTC+8)<input id="q-to" name="to" type="datetime-local" value="{{to}}"></label>
          <button type="submit">搜索 Search</button>
        </form>
        {{#invalid}}<p class="error" role="alert">{{invalid}}</p>{{/invalid}}
        <p id="result-count" aria-live="polite">本页 {{shown}} 条 {{shown}} messages on this page, 最新在前 newest first{{#continued}}, 消息编号 {{continued}} 以下 below message {{continued}}{{/continued}}</p>
        <table aria-describedby="result-count">
          <thead><tr><th scope="col">消息 Message</th><th scope="col">信封编号 Envelope id</th><th scope="col">类型 Kind</th>
            <th scope="col">记录编号 Record id</th><th scope="col">发送方 From</th><th scope="col">接收方 To</th>
            <th scope="col">状态 Status</th><th scope="col">入队时间 Enqueued (UTC+8)</th></tr></thead>
          <tbody>
          {{#rows}}<tr><td class="num">{{messageId}}</td><td><a href="/console/messages/{{envelopeId}}"><code>{{envelopeId}}</code></a></td>
            <td>{{kind}}</td><td>{{recordId}}</td><td>{{submitter}}</td><td>{{destination}}</td><td>{{statusLabel}} {{outcome}}{{#ackedAt}} <span class="muted">{{ackedAt}}</span>{{/ackedAt}}</td><td>{{at}}</td></tr>{{/rows}}
          </tbody>
        </table>
        <nav class="pager" aria-label="分页 Pages">
          {{#newest}}<a href="{{newest}}" rel="first">最新 Newest</a>{{/newest}}
          {{#next}}<a href="{{next}}" rel="next">下一页 Next</a>{{/next}}
        </nav>
        """

    static func get(_ request: ConsoleRequest) async throws -> ConsoleView {
        let gateway = request.gateway
        let participant = request.query("participant"), kind = request.query("kind"), status = request.query("status")
        var invalid: [String] = []
        let from = request.query("from").flatMap { text in
            ConsoleFormat.localDate(text) ?? { invalid.append("起始时间无效 From is not a date and time"); return nil }()
        }
        let to = request.query("to").flatMap { text in
            ConsoleFormat.localDate(text) ?? { invalid.append("结束时间无效 To is not a date and time"); return nil }()
        }
        let state = status.flatMap { DeliveryState(rawValue: $0) }
        if status != nil, state.map({ !statuses.contains($0.rawValue) }) ?? true {
            invalid.append("状态无效 Status must be queued, leased, dead or acked")
        }
        let before = request.query("before").flatMap { text in
            Int64(text).map(MessageID.init) ?? { invalid.append("分页位置无效 The page cursor (before) is not a message id"); return nil }()
        }
        if let from, let to, from > to { invalid.append("起始时间晚于结束时间 From is after To") }
        let search = MessageSearch(
            envelopeId: request.query("envelopeId"), recordId: request.query("recordId"), participant: participant, kind: kind,
            states: state.map { [$0] } ?? [], enqueuedFrom: from, enqueuedTo: to)
        // A refused field searches nothing rather than everything.
        let page = invalid.isEmpty
            ? try await gateway.consoleMessages(search, visibleTo: request.principal, before: before, limit: pageSize)
            : MessageSearchPage(headers: [], next: nil)

        let rows: [[String: Any]] = page.headers.map { h in
            let outcome = h.delivery.outcome.map { $0.name + ($0.reason.map { " (\($0))" } ?? "") } ?? h.delivery.lastError ?? ""
            var row: [String: Any] = [
                "messageId": h.messageId.rawValue, "envelopeId": h.envelopeId, "kind": h.kind, "recordId": h.recordId,
                "submitter": h.submitter, "destination": h.destination,
                "statusLabel": statusLabels[h.delivery.state.rawValue] ?? h.delivery.state.rawValue,
                "outcome": outcome, "at": ConsoleFormat.date(h.enqueuedAt),
            ]
            if let acked = h.ackedAt { row["ackedAt"] = ConsoleFormat.date(acked) }
            return row
        }
        func link(before cursor: MessageID?) -> String {
            var items = request.query.filter { !["before", "page"].contains($0.key) && !$0.value.isEmpty }.sorted { $0.key < $1.key }
            if let cursor { items.append(("before", String(cursor.rawValue))) }
            return "/console/messages" + (items.isEmpty ? "" : "?")
                + items.map { "\(ConsoleFormat.queryValue($0.0))=\(ConsoleFormat.queryValue($0.1))" }.joined(separator: "&")
        }
        var names = gateway.seeds.participants.map(\.id)
        if request.isOps { names += gateway.peerOutboxes }
        var data: [String: Any] = [
            "envelopeId": request.query("envelopeId") ?? "", "recordId": request.query("recordId") ?? "",
            "from": request.query("from") ?? "", "to": request.query("to") ?? "",
            "participants": names.map { ["id": $0, "selected": $0 == participant] as [String: Any] },
            "kinds": RecordKind.allCases.map { ["name": $0.rawValue, "selected": $0.rawValue == kind] as [String: Any] },
            "statuses": statuses.map { ["name": $0, "label": statusLabels[$0]!, "selected": $0 == status] as [String: Any] },
            "rows": rows, "shown": rows.count,
        ]
        if let before { data["continued"] = String(before.rawValue) }
        if !invalid.isEmpty { data["invalid"] = invalid.joined(separator: "; ") }
        if before != nil { data["newest"] = link(before: nil) }
        if let next = page.next { data["next"] = link(before: next) }
        return .page(title: "消息 Messages", data: data)
    }
}

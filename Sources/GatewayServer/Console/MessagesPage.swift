import Foundation

/// `/console/messages`: the message browser. Search by envelope id, record id, participant
/// (sender or destination), kind, status and time range (China Standard Time), 50 a page. Lists
/// ids, kinds, participants, states and times only: no payload, so no personal data.
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
        <p id="result-count" aria-live="polite">共 {{total}} 条 {{total}} messages{{#hasRows}}, 第 {{first}}–{{last}} 条 showing {{first}}–{{last}}{{/hasRows}}</p>
        <table aria-describedby="result-count">
          <thead><tr><th scope="col">消息 Message</th><th scope="col">信封编号 Envelope id</th><th scope="col">类型 Kind</th>
            <th scope="col">记录编号 Record id</th><th scope="col">发送方 From</th><th scope="col">接收方 To</th>
            <th scope="col">状态 Status</th><th scope="col">时间 Time (UTC+8)</th></tr></thead>
          <tbody>
          {{#rows}}<tr><td class="num">{{messageId}}</td><td><a href="/console/messages/{{envelopeId}}"><code>{{envelopeId}}</code></a></td>
            <td>{{kind}}</td><td>{{recordId}}</td><td>{{submitter}}</td><td>{{destination}}</td><td>{{statusLabel}} {{outcome}}</td><td>{{at}}</td></tr>{{/rows}}
          </tbody>
        </table>
        <nav class="pager" aria-label="分页 Pages">
          {{#previous}}<a href="{{previous}}" rel="prev">上一页 Previous</a>{{/previous}}
          {{#next}}<a href="{{next}}" rel="next">下一页 Next</a>{{/next}}
        </nav>
        """

    static func get(_ request: ConsoleRequest) async throws -> ConsoleView {
        let gateway = request.gateway
        var all = try await gateway.consoleMessages(visibleTo: request.principal)
        var kinds = Set(all.map(\.kind))
        var kindCache: [String: String] = [:]
        func kind(of message: Gateway.ConsoleMessage) async -> String {
            if !message.kind.isEmpty { return message.kind }
            if let known = kindCache[message.envelopeId] { return known }
            let found = (try? await gateway.queue.storedEnvelope(id: message.envelopeId))?.kind ?? ""
            kindCache[message.envelopeId] = found
            return found
        }

        let envelopeId = request.query("envelopeId"), recordId = request.query("recordId")
        let participant = request.query("participant"), kindFilter = request.query("kind"), status = request.query("status")
        var invalid: [String] = []
        let from = request.query("from").flatMap { text in
            ConsoleFormat.localDate(text) ?? { invalid.append("起始时间无效 From is not a date and time"); return nil }()
        }
        let to = request.query("to").flatMap { text in
            ConsoleFormat.localDate(text) ?? { invalid.append("结束时间无效 To is not a date and time"); return nil }()
        }
        if let status, !statuses.contains(status) { invalid.append("状态无效 Status must be queued, leased, dead or acked") }
        all = all.filter { m in
            (envelopeId == nil || m.envelopeId.localizedCaseInsensitiveContains(envelopeId!))
                && (recordId == nil || m.recordId.localizedCaseInsensitiveContains(recordId!))
                && (participant == nil || m.destination == participant || m.submitter == participant)
                && (status == nil || m.status == status) && (from == nil || m.at >= from!) && (to == nil || m.at <= to!)
        }
        if let kindFilter {
            var kept: [Gateway.ConsoleMessage] = []
            for m in all where await kind(of: m) == kindFilter { kept.append(m) }
            all = kept
        }
        for m in all where m.kind.isEmpty { kinds.insert(await kind(of: m)) }
        kinds.remove("")

        let pageNumber = max(1, Int(request.query("page") ?? "1") ?? 1)
        let start = min((pageNumber - 1) * pageSize, all.count)
        let shown = Array(all[start..<min(start + pageSize, all.count)])
        var rows: [[String: Any]] = []
        for m in shown {
            rows.append([
                "messageId": m.messageId, "envelopeId": m.envelopeId, "kind": await kind(of: m), "recordId": m.recordId,
                "submitter": m.submitter, "destination": m.destination, "statusLabel": statusLabels[m.status] ?? m.status,
                "outcome": m.outcome, "at": ConsoleFormat.date(m.at),
            ])
        }
        func link(page: Int) -> String {
            var items = request.query.filter { $0.key != "page" && !$0.value.isEmpty }.sorted { $0.key < $1.key }
            items.append(("page", String(page)))
            return "/console/messages?" + items.map { "\(ConsoleFormat.queryValue($0.0))=\(ConsoleFormat.queryValue($0.1))" }.joined(separator: "&")
        }
        var names = gateway.seeds.participants.map(\.id)
        if request.isOps { names += gateway.peerOutboxes }
        var data: [String: Any] = [
            "envelopeId": envelopeId ?? "", "recordId": recordId ?? "", "from": request.query("from") ?? "", "to": request.query("to") ?? "",
            "participants": names.map { ["id": $0, "selected": $0 == participant] as [String: Any] },
            "kinds": kinds.sorted().map { ["name": $0, "selected": $0 == kindFilter] as [String: Any] },
            "statuses": statuses.map { ["name": $0, "label": statusLabels[$0]!, "selected": $0 == status] as [String: Any] },
            "rows": rows, "hasRows": !rows.isEmpty, "total": all.count, "first": start + 1, "last": start + shown.count,
        ]
        if !invalid.isEmpty { data["invalid"] = invalid.joined(separator: "; ") }
        if pageNumber > 1 { data["previous"] = link(page: pageNumber - 1) }
        if start + pageSize < all.count { data["next"] = link(page: pageNumber + 1) }
        return .page(title: "消息 Messages", data: data)
    }
}

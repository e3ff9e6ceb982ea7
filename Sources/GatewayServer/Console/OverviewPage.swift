import Foundation
import GatewayModel

/// `/console/`: per participant queued / leased / dead / acked, the last hour's submissions and
/// rejections per format as a bar chart (with the same numbers in a table), and the peers in node
/// mode. A participant's session sees its own inbox and its own submissions only; peers are ops only.
enum OverviewPage: ConsolePage {
    static let path = ""
    static let navigation: ConsoleNavigation? = ConsoleNavigation(chinese: "概览", english: "Overview")

    static let template = """
        <section aria-labelledby="queues-heading">
        <h2 id="queues-heading">队列 Queues</h2>
        <table>
          <caption class="muted">每个参与方的消息 Messages per participant</caption>
          <thead><tr><th scope="col">参与方 Participant</th><th scope="col">排队 Queued</th><th scope="col">租用 Leased</th>
            <th scope="col">死信 Dead</th><th scope="col">已确认 Acked</th></tr></thead>
          <tbody>
          {{#queues}}<tr><th scope="row"><a href="/console/messages?participant={{participantQuery}}">{{participant}}</a></th>
            <td class="num">{{queued}}</td><td class="num">{{leased}}</td><td class="num">{{dead}}</td><td class="num">{{acked}}</td></tr>{{/queues}}
          </tbody>
        </table>
        </section>
        <section aria-labelledby="activity-heading">
        <h2 id="activity-heading">最近一小时的提交 Submissions in the last hour</h2>
        {{#hasActivity}}
        <svg class="chart" role="img" aria-labelledby="chart-title" width="{{chartWidth}}" height="{{chartHeight}}" viewBox="0 0 {{chartWidth}} {{chartHeight}}">
          <title id="chart-title">每种格式的提交与拒绝 Submissions and rejections per format (see the table below)</title>
          {{#bars}}<text x="4" y="{{labelY}}">{{format}}</text>
          <rect class="accepted" x="{{x}}" y="{{acceptedY}}" width="{{acceptedWidth}}" height="12"></rect><text x="{{acceptedTextX}}" y="{{acceptedTextY}}">{{submitted}} 提交 submitted</text>
          <rect class="rejected" x="{{x}}" y="{{rejectedY}}" width="{{rejectedWidth}}" height="12"></rect><text x="{{rejectedTextX}}" y="{{rejectedTextY}}">{{rejected}} 拒绝 rejected</text>
          {{/bars}}
        </svg>
        <table>
          <thead><tr><th scope="col">格式 Format</th><th scope="col">提交记录 Records submitted</th><th scope="col">拒绝 Rejected</th></tr></thead>
          <tbody>{{#bars}}<tr><th scope="row">{{format}}</th><td class="num">{{submitted}}</td><td class="num">{{rejected}}</td></tr>{{/bars}}</tbody>
        </table>
        {{/hasActivity}}
        {{^hasActivity}}<p class="muted">最近一小时没有提交 No submissions in the last hour (since this process started).</p>{{/hasActivity}}
        </section>
        {{#federated}}
        <section aria-labelledby="peers-heading">
        <h2 id="peers-heading">对等节点 Peers</h2>
        <p>本节点 This node: <code>{{node}}</code>, 目录序号 directory serial {{serial}}{{#stale}} <span class="error">（已过期 stale）</span>{{/stale}}</p>
        <table>
          <thead><tr><th scope="col">节点 Node</th><th scope="col">发件箱 Outbox</th><th scope="col">死信 Dead</th>
            <th scope="col">最近成功 Last success</th><th scope="col">最近错误 Last error</th></tr></thead>
          <tbody>{{#peers}}<tr><th scope="row">{{id}}</th><td class="num">{{outbox}}</td><td class="num">{{dead}}</td><td>{{lastSuccess}}</td><td>{{lastError}}</td></tr>{{/peers}}</tbody>
        </table>
        </section>
        {{/federated}}
        """

    static func get(_ request: ConsoleRequest) async throws -> ConsoleView {
        let gateway = request.gateway
        let queues: [JSONValue] =
            if let participant = request.participant {
                [try await gateway.inbox(participant: participant)]
            } else {
                try await gateway.queueDepths()["queues"]?.arrayValue ?? []
            }
        var data: [String: Any] = [
            "queues": queues.map { q -> [String: Any] in
                let id = q["participant"]?.stringValue ?? ""
                return [
                    "participant": id, "participantQuery": ConsoleFormat.queryValue(id),
                    "queued": number(q["queued"]), "leased": number(q["leased"]), "dead": number(q["dead"]), "acked": number(q["acked"]),
                ]
            }
        ]
        let totals = gateway.metrics.submissionActivity.lastHour(submitter: request.participant)
        data["hasActivity"] = !totals.isEmpty
        data.merge(chart(totals)) { $1 }
        if request.isOps, gateway.directory != nil {
            let health = try await gateway.federationHealth()
            data["federated"] = true
            data["node"] = health["node"]?.stringValue ?? ""
            data["serial"] = number(health["directorySerial"])
            data["stale"] = health["directoryStale"]?.boolValue ?? false
            data["peers"] = (health["peers"]?.objectValue?.members ?? []).map { member -> [String: Any] in
                [
                    "id": member.key, "outbox": number(member.value["outboxDepth"]), "dead": number(member.value["deadLetters"]),
                    "lastSuccess": ConsoleFormat.date(member.value["lastSuccessAt"]?.stringValue),
                    "lastError": member.value["lastError"]?.stringValue ?? "",
                ]
            }
        }
        return .page(title: "概览 Overview", data: data)
    }

    static func number(_ value: JSONValue?) -> Int { value?.numberValue?.intValue ?? 0 }

    /// The bars of the chart: per format a bar of records submitted and one of rejections, on one
    /// scale (the largest count fills 300 px), label above each pair.
    static func chart(_ totals: [SubmissionActivity.Total]) -> [String: Any] {
        let scale = 300.0 / Double(max(1, totals.map(\.submitted).max() ?? 1))
        let x = 8, rowHeight = 52
        let bars = totals.enumerated().map { n, t -> [String: Any] in
            let top = n * rowHeight
            let acceptedWidth = max(1, Int(Double(t.submitted) * scale)), rejectedWidth = max(1, Int(Double(t.rejected) * scale))
            return [
                "format": t.format, "submitted": t.submitted, "rejected": t.rejected, "labelY": top + 14, "x": x,
                "acceptedY": top + 20, "acceptedWidth": acceptedWidth, "acceptedTextX": x + acceptedWidth + 6, "acceptedTextY": top + 30,
                "rejectedY": top + 34, "rejectedWidth": rejectedWidth, "rejectedTextX": x + rejectedWidth + 6, "rejectedTextY": top + 44,
            ]
        }
        return ["bars": bars, "chartWidth": 520, "chartHeight": max(rowHeight, totals.count * rowHeight + 4)]
    }
}

import Foundation
import GatewayQueue

/// `/console/dead-letters`: messages that failed `retry.maxDeliveries` times (or were made dead at
/// once, e.g. a record that does not render), with why, how many attempts and the last error.
/// Ops replays one or a selection: the first POST (`step=confirm`) shows what would be replayed,
/// the second (`step=replay`) replays the selection in one queue transaction
/// (`Gateway.replay(messageIds:)`): the messages are queued again with their delivery count
/// reset, and leave the list. A participant's
/// session sees the dead letters it sent or that were sent to it, and cannot replay (the API's
/// `/v1/ops/dead-letters/{id}/replay` takes the ops token only).
enum DeadLettersPage: ConsolePage {
    static let path = "dead-letters"
    static let navigation: ConsoleNavigation? = ConsoleNavigation(chinese: "死信", english: "Dead letters")
    /// The most listed: the newest this many (a search page's largest).
    static let limit = 1000

    static let template = """
        {{#replayed}}<p class="ok" role="status" id="replay-result">已重新排队 {{replayed}} 条 Replayed {{replayed}}: queued again.</p>{{/replayed}}
        {{#failures}}<p class="error" role="alert">消息 Message {{messageId}}: {{message}}</p>{{/failures}}
        {{#confirming}}
        <section aria-labelledby="confirm-heading">
        <h2 id="confirm-heading">确认重放 Confirm the replay</h2>
        <p>以下 {{count}} 条死信将重新排队，投递次数清零。 These {{count}} dead letters will be queued again with their delivery count reset.</p>
        <ul id="confirm-list">{{#selected}}<li>消息 Message {{messageId}} — <code>{{envelopeId}}</code> → {{destination}}</li>{{/selected}}</ul>
        <form method="post" action="/console/dead-letters">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="step" value="replay">
          <input type="hidden" name="ids" value="{{ids}}">
          <button type="submit" id="confirm-replay">确认重放 Replay {{count}}</button>
          <a href="/console/dead-letters">取消 Cancel</a>
        </form>
        </section>
        {{/confirming}}
        {{^confirming}}
        <p id="dead-count" aria-live="polite">共 {{total}} 条死信 {{total}} dead letters</p>
        {{#hasRows}}
        <form method="post" action="/console/dead-letters" aria-labelledby="dead-count">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <input type="hidden" name="step" value="confirm">
        <table>
          <thead><tr>{{#canReplay}}<th scope="col">选择 Select</th>{{/canReplay}}<th scope="col">消息 Message</th>
            <th scope="col">信封编号 Envelope id</th><th scope="col">类型 Kind</th><th scope="col">记录编号 Record id</th>
            <th scope="col">发送方 From</th><th scope="col">接收方 To</th><th scope="col">原因 Reason</th>
            <th scope="col">尝试次数 Attempts</th><th scope="col">最后错误 Last error</th><th scope="col">死信时间 Died at (UTC+8)</th></tr></thead>
          <tbody>
          {{#rows}}<tr>{{#canReplay}}<td><input type="checkbox" name="id-{{messageId}}" value="{{messageId}}" id="select-{{messageId}}">
            <label for="select-{{messageId}}">选择 Select {{messageId}}</label></td>{{/canReplay}}
            <td class="num">{{messageId}}</td><td><a href="/console/messages/{{envelopeId}}"><code>{{envelopeId}}</code></a></td>
            <td>{{kind}}</td><td>{{recordId}}</td><td>{{submitter}}</td><td>{{destination}}</td><td>{{reason}}</td>
            <td class="num">{{attempts}}</td><td><code>{{lastError}}</code></td><td>{{diedAt}}</td></tr>{{/rows}}
          </tbody>
        </table>
        {{#canReplay}}<button type="submit" id="replay-selected">重放所选 Replay the selected…</button>{{/canReplay}}
        </form>
        {{/hasRows}}
        {{^hasRows}}<p class="muted">没有死信 No dead letters.</p>{{/hasRows}}
        {{^canReplay}}<p class="muted">重放需要运维令牌 Replaying needs the ops token.</p>{{/canReplay}}
        {{/confirming}}
        """

    static func get(_ request: ConsoleRequest) async throws -> ConsoleView {
        var data = try await list(request)
        if let replayed = request.query("replayed").flatMap(Int.init) { data["replayed"] = replayed }
        return .page(title: "死信 Dead letters", data: data)
    }

    static func post(_ request: ConsoleRequest) async throws -> ConsoleView {
        guard request.isOps else { throw ConsoleError(.forbidden, "重放需要运维令牌 Replaying needs the ops token") }
        let ids = selection(request.form)
        guard !ids.isEmpty else {
            var data = try await list(request)
            data["failures"] = [["messageId": "—", "message": "未选择死信 Select at least one dead letter"]]
            return .page(title: "死信 Dead letters", data: data)
        }
        switch request.form["step"] {
        case "confirm":
            let letters = try await deadLetters(request).filter { ids.contains($0.messageId.rawValue) }
            guard !letters.isEmpty else { return .redirect("/console/dead-letters") }
            return .page(title: "确认重放 Confirm the replay", data: [
                "confirming": true, "count": letters.count, "ids": letters.map { String($0.messageId.rawValue) }.joined(separator: ","),
                "selected": letters.map { ["messageId": $0.messageId.rawValue, "envelopeId": $0.envelopeId, "destination": $0.destination] },
            ])
        case "replay":
            // One queue transaction for the whole selection; a message no longer dead is named, the rest replayed.
            var replayed = 0
            var failures: [[String: Any]] = []
            for (id, refusal) in try await request.gateway.replay(messageIds: ids) {
                if let refusal {
                    failures.append(["messageId": id, "message": APIError.from(refusal).message])
                } else {
                    request.gateway.auditOps("replay", messageId: id, logger: request.gateway.logger)
                    replayed += 1
                }
            }
            if failures.isEmpty { return .redirect("/console/dead-letters?replayed=\(replayed)") }
            var data = try await list(request)
            data["replayed"] = replayed
            data["failures"] = failures
            return .page(title: "死信 Dead letters", data: data)
        default:
            throw ConsoleError(.badRequest, "未知步骤 Unknown step: confirm or replay")
        }
    }

    /// The message ids a form names: `id-N` checkboxes (the list) or `ids` (the confirmation).
    static func selection(_ form: [String: String]) -> [Int64] {
        var ids = form.filter { $0.key.hasPrefix("id-") }.compactMap { Int64($0.value) }
        ids += (form["ids"] ?? "").split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        return Array(Set(ids)).sorted()
    }

    /// The dead letters `request`'s principal may see (ops: all; a participant: those it sent or
    /// that were sent to it), the newest `limit`, oldest id first: one search of the whole queue
    /// (`MessageQueue.search`, newest first, page after page until `limit` or the end). Only
    /// messages stored dead: an expired lease that reclaiming will make dead is not yet replayable.
    static func deadLetters(_ request: ConsoleRequest) async throws -> [MessageHeader] {
        let search = MessageSearch(visibleTo: request.participant, states: [.dead])
        var out: [MessageHeader] = []
        var before: MessageID?
        repeat {
            let page = try await request.gateway.queue.search(search, before: before, limit: limit - out.count)
            out += page.headers.filter { $0.diedAt != nil }
            before = page.next
        } while before != nil && out.count < limit
        return out.reversed()
    }

    static func list(_ request: ConsoleRequest) async throws -> [String: Any] {
        let letters = try await deadLetters(request)
        let maxDeliveries = request.gateway.configuration.retry.maxDeliveries
        var rows: [[String: Any]] = []
        for d in letters {
            let attempts = d.delivery.deliveryCount
            let reason =
                attempts >= maxDeliveries
                ? "重试用尽 Retries exhausted (\(attempts)/\(maxDeliveries))"
                : "立即转为死信 Dead at once (no retry helps)"
            rows.append([
                "messageId": d.messageId.rawValue, "envelopeId": d.envelopeId, "kind": d.kind, "recordId": d.recordId,
                "submitter": d.submitter, "destination": d.destination, "reason": reason, "attempts": attempts,
                "lastError": d.delivery.lastError ?? "", "diedAt": ConsoleFormat.date(d.diedAt ?? d.delivery.availableAt),
            ])
        }
        return ["rows": rows, "hasRows": !rows.isEmpty, "total": rows.count, "canReplay": request.isOps]
    }
}

import Foundation
import GatewayModel
import GatewaySigning

/// `/console/messages/{envelopeId}`: the envelope header, whether its signature verifies (and with
/// which certificate), the payload with personal data masked, the history timeline and the
/// receipts. Who may open it is the API's rule (`Gateway.history`): ops and the sender see every
/// destination, a destination only its own message; anyone else gets 404. The record rendered in
/// a destination's configured delivery format (`ConsoleRendering`) is shown to ops and to that
/// destination only: unlike the payload it is not masked.
enum MessagePage: ConsolePage {
    static let path = "messages/:envelopeId"

    static let template = """
        <p><a href="/console/messages">← 返回消息列表 Back to the messages</a></p>
        <section aria-labelledby="header-heading">
        <h2 id="header-heading">信封头 Envelope header</h2>
        {{#hasEnvelope}}
        <dl class="header">
        {{#header}}<dt>{{name}}</dt><dd><code>{{value}}</code></dd>{{/header}}
        </dl>
        {{/hasEnvelope}}
        {{^hasEnvelope}}<p class="muted">信封已不在存储中（已归档清除） The envelope is no longer stored (archived and purged).</p>{{/hasEnvelope}}
        </section>
        {{#hasEnvelope}}
        <section aria-labelledby="signature-heading">
        <h2 id="signature-heading">签名 Signature</h2>
        {{#verified}}<p class="ok" id="signature-status">✓ 签名有效 The signature verifies</p>
        <dl class="header">
          <dt>证书 Certificate</dt><dd>{{certificateName}}</dd>
          <dt>序列号 Serial</dt><dd><code>{{certificateSerial}}</code></dd>
          <dt>密钥编号 Key id</dt><dd><code>{{certificateKeyId}}</code></dd>
          <dt>签发者 Issuer</dt><dd>{{certificateIssuer}}</dd>
          <dt>有效期至 Valid until</dt><dd>{{certificateNotAfter}}</dd>
        </dl>{{/verified}}
        {{^verified}}<p class="error" id="signature-status">✗ 签名无法验证 The signature does not verify: <code>{{failureCode}}</code> {{failure}}</p>{{/verified}}
        </section>
        <section aria-labelledby="payload-heading">
        <h2 id="payload-heading">内容 Payload <span class="muted">（个人信息已遮蔽 personal data masked）</span></h2>
        <pre id="payload">{{payload}}</pre>
        </section>
        {{#hasRendered}}
        <section aria-labelledby="rendered-heading">
        <h2 id="rendered-heading">渲染文档 Rendered document <span class="muted">（含个人信息，仅运维与接收方可见 personal data: ops and the destination only）</span></h2>
        {{#rendered}}
        <h3>→ {{destination}}: <code>{{format}}</code>{{#mediaType}} <span class="muted">{{mediaType}}</span>{{/mediaType}}</h3>
        {{#body}}<pre class="rendered">{{body}}</pre>{{/body}}
        {{#renderError}}<p class="error">✗ 无法渲染 Cannot be rendered in {{format}}:</p><pre class="error">{{renderError}}</pre>{{/renderError}}
        {{/rendered}}
        </section>
        {{/hasRendered}}
        {{/hasEnvelope}}
        <section aria-labelledby="history-heading">
        <h2 id="history-heading">历史 History</h2>
        <ol class="timeline">
        {{#history}}<li><time>{{at}}</time> — <strong>{{event}}</strong> → {{destination}} <span class="muted">(消息 message {{messageId}}, 投递 deliveries {{deliveryCount}})</span> {{detail}}</li>{{/history}}
        </ol>
        </section>
        <section aria-labelledby="receipts-heading">
        <h2 id="receipts-heading">回执 Receipts</h2>
        {{#hasReceipts}}
        <table>
          <thead><tr><th scope="col">接收方 Destination</th><th scope="col">结果 Outcome</th><th scope="col">原因 Reason</th>
            <th scope="col">确认时间 Acked at (UTC+8)</th><th scope="col">已签名 Signed</th></tr></thead>
          <tbody>{{#receipts}}<tr><td>{{destination}}</td><td>{{outcome}}</td><td>{{reason}}</td><td>{{ackedAt}}</td><td>{{signed}}</td></tr>{{/receipts}}</tbody>
        </table>
        {{#receipts}}{{#json}}<details><summary>回执 Receipt of {{destination}}</summary><pre>{{json}}</pre></details>{{/json}}{{/receipts}}
        {{/hasReceipts}}
        {{^hasReceipts}}<p class="muted">尚无回执 No receipt yet.</p>{{/hasReceipts}}
        </section>
        """

    /// A history event with its Chinese name beside it (`排队 queued`).
    static func eventLabel(_ event: String) -> String {
        let chinese = [
            "queued": "排队", "leased": "租用", "acked": "已确认", "nacked": "退回", "expired": "租约过期", "dead": "死信",
            "replayed": "重放", "discarded": "放弃",
        ]
        return chinese[event].map { "\($0) \(event)" } ?? event
    }

    static func get(_ request: ConsoleRequest) async throws -> ConsoleView {
        let gateway = request.gateway
        let envelopeId = request.parameters["envelopeId"] ?? ""
        // The API's rule first: a participant that neither sent nor received it gets 404 here.
        let history = try await gateway.history(envelopeId: envelopeId, principal: request.principal)
        var data: [String: Any] = [:]
        let entries = history["history"]?.arrayValue ?? []
        data["history"] = entries.map { e -> [String: Any] in
            [
                "at": ConsoleFormat.date(e["at"]?.stringValue), "event": eventLabel(e["event"]?.stringValue ?? ""),
                "destination": e["destination"]?.stringValue ?? "", "messageId": e["messageId"]?.numberValue?.intValue ?? 0,
                "deliveryCount": e["deliveryCount"]?.numberValue?.intValue ?? 0, "detail": e["detail"]?.stringValue ?? "",
            ]
        }
        let stored = try await gateway.queue.storedEnvelope(id: envelopeId)
        let isSender = stored?.submitter == request.participant
        if let stored, let json = try? JSONParser.parse(stored.envelope), let envelope = try? Envelope(json: json) {
            data["hasEnvelope"] = true
            data["header"] = envelope.header.members.map { member -> [String: Any] in
                let text: String =
                    if case .string(let s) = member.value { s } else { String(decoding: member.value.canonicalBytes(), as: UTF8.self) }
                let shown = member.key.hasSuffix("At") ? "\(text)  (\(ConsoleFormat.date(text)) UTC+8)" : text
                return ["name": member.key, "value": shown]
            }
            switch envelope.verify(trust: gateway.trust) {
            case .success(let certificate):
                data["verified"] = true
                data["certificateName"] = certificate.commonName ?? certificate.officeIDs.joined(separator: ", ")
                data["certificateSerial"] = certificate.serial
                data["certificateKeyId"] = certificate.keyId
                data["certificateIssuer"] = certificate.issuerCommonName ?? ""
                data["certificateNotAfter"] = ConsoleFormat.date(certificate.notAfter) + " (UTC+8)"
            case .failure(let failure):
                data["verified"] = false
                data["failureCode"] = failure.code.rawValue
                data["failure"] = failure.description
            }
            data["payload"] = ConsoleFormat.maskedJSON(envelope.payload)
            // The record as each destination with a configured format gets it (ops, or that destination only).
            var destinations: [String] = []
            for e in entries { if let d = e["destination"]?.stringValue, !destinations.contains(d) { destinations.append(d) } }
            let rendered = ConsoleRendering.view(json, destinations: destinations, request: request)
            data["hasRendered"] = !rendered.isEmpty
            data["rendered"] = rendered
        }
        // Receipts: all for ops and the sender, its own for a destination.
        let receipts = try await gateway.queue.receipts(envelopeId: envelopeId).filter { r in
            request.isOps || isSender || r.destination == request.participant
        }
        data["hasReceipts"] = !receipts.isEmpty
        data["receipts"] = receipts.map { r -> [String: Any] in
            [
                "destination": r.destination, "outcome": r.outcome.name, "reason": r.outcome.reason ?? "",
                "ackedAt": ConsoleFormat.date(r.ackedAt), "signed": r.receipt == nil ? "否 no" : "是 yes",
                "json": r.receipt.flatMap { try? JSONParser.parse($0) }.map(ConsoleFormat.maskedJSON) ?? "",
            ]
        }
        return .page(title: "消息 Message \(envelopeId)", data: data)
    }
}

import Foundation
import GatewaySigning

/// `/console/participants`: per participant its signing certificate on this node (subject, serial,
/// algorithm, validity, days to expiry) and whether it may sign now, checked as every signature is
/// (`SigningKeys`: the alliance root and the current CRL, re-read when `crl.pem` changes); the CRL's
/// own dates. Ops sees every participant; a participant's session its own row only (the API's
/// `/v1/ops/participants` is ops only). No key material is shown.
enum ParticipantsPage: ConsolePage {
    static let path = "participants"
    static let navigation: ConsoleNavigation? = ConsoleNavigation(chinese: "参与方与证书", english: "Participants and certificates")

    static let template = """
        <section aria-labelledby="certificates-heading">
        <h2 id="certificates-heading">签名证书 Signing certificates</h2>
        <table id="participants">
          <thead><tr><th scope="col">参与方 Participant</th><th scope="col">名称 Name</th><th scope="col">证书主体 Subject</th>
            <th scope="col">序列号 Serial</th><th scope="col">算法 Algorithm</th><th scope="col">生效 Valid from (UTC+8)</th>
            <th scope="col">到期 Valid until (UTC+8)</th><th scope="col">剩余天数 Days to expiry</th><th scope="col">状态 Status</th></tr></thead>
          <tbody>
          {{#rows}}<tr id="participant-{{id}}"><th scope="row">{{id}}</th><td>{{name}} <span class="muted">{{kind}} · {{region}}</span></td>
            {{#hasCertificate}}<td><code>{{subject}}</code></td><td><code>{{serial}}</code></td><td>{{algorithm}}</td><td>{{notBefore}}</td>
            <td>{{notAfter}}</td><td class="num{{#warn}} error{{/warn}}">{{daysLeft}}</td>
            <td class="{{statusClass}}">{{statusLabel}}{{#revokedAt}} ({{revokedAt}}){{/revokedAt}}</td>{{/hasCertificate}}
            {{^hasCertificate}}<td colspan="7" class="muted">本节点没有该参与方的证书 No certificate for it on this node</td>{{/hasCertificate}}</tr>{{/rows}}
          </tbody>
        </table>
        <p class="muted">少于 {{warningDays}} 天到期时标红 Shown in red below {{warningDays}} days to expiry.</p>
        </section>
        <section aria-labelledby="crl-heading">
        <h2 id="crl-heading">吊销列表 Certificate revocation list</h2>
        {{#crls}}<dl class="header">
          <dt>签发者 Issuer</dt><dd>{{issuer}}</dd>
          <dt>编号 Number</dt><dd>{{number}}</dd>
          <dt>本次更新 This update (UTC+8)</dt><dd>{{thisUpdate}}</dd>
          <dt>下次更新 Next update (UTC+8)</dt><dd>{{nextUpdate}}{{#stale}} <span class="error">（已过期 stale）</span>{{/stale}}</dd>
          <dt>已吊销 Revoked</dt><dd>{{revoked}}</dd>
        </dl>{{/crls}}
        {{^crls}}<p class="muted">没有吊销列表 No CRL in this node's PKI folder.</p>{{/crls}}
        </section>
        """

    static let statusLabels: [String: String] = [
        "valid": "✓ 有效 Valid", "revoked-certificate": "✗ 已吊销 Revoked", "expired-certificate": "✗ 已过期 Expired",
        "not-yet-valid-certificate": "✗ 尚未生效 Not yet valid", "untrusted-certificate": "✗ 不受信任 Not trusted by the alliance root",
        "no-signing-key": "✗ 无签名密钥 No signing key",
    ]

    static func get(_ request: ConsoleRequest) async throws -> ConsoleView {
        let gateway = request.gateway
        let now = Date()
        let statuses = gateway.keys.statuses(at: now)
        let trust = gateway.trust
        let warningDays = gateway.configuration.certificateWarningDays
        var rows: [[String: Any]] = []
        for p in gateway.seeds.participants where request.participant == nil || request.participant == p.id {
            var row: [String: Any] = ["id": p.id, "name": p.name, "kind": p.kind.rawValue, "region": p.region]
            if let status = statuses.first(where: { $0.participant == p.id }) {
                let c = status.signer.certificate
                let left = c.notAfter.timeIntervalSince(now)
                let state = status.unavailable?.rawValue ?? "valid"
                let revokedAt = trust.revocationLists.lazy.compactMap { $0.revocationDates[c.serial] }.first
                row.merge([
                    "hasCertificate": true, "subject": subject(c), "serial": c.serial, "algorithm": status.signer.algorithm.rawValue,
                    "notBefore": ConsoleFormat.date(c.notBefore), "notAfter": ConsoleFormat.date(c.notAfter),
                    "daysLeft": Int((left / 86_400).rounded(.down)), "warn": left < warningDays * 86_400,
                    "statusLabel": statusLabels[state] ?? state, "statusClass": status.unavailable == nil ? "ok" : "error",
                    "revokedAt": revokedAt.map { "吊销于 revoked at " + ConsoleFormat.date($0) } ?? "",
                ]) { $1 }
            }
            rows.append(row)
        }
        let crls = trust.revocationLists.map { crl -> [String: Any] in
            [
                "issuer": trust.roots.first.flatMap(\.commonName) ?? "", "number": crl.number.map(String.init) ?? "—",
                "thisUpdate": crl.thisUpdate.map(ConsoleFormat.date) ?? "—", "nextUpdate": crl.nextUpdate.map(ConsoleFormat.date) ?? "—",
                "stale": crl.isStale(at: now),
                // Serials only: they name certificates, not people.
                "revoked": crl.revokedSerials.isEmpty ? "无 none" : crl.revokedSerials.sorted().joined(separator: ", "),
            ]
        }
        return .page(title: "参与方与证书 Participants and certificates", data: [
            "rows": rows, "crls": crls, "warningDays": Int(warningDays),
        ])
    }

    /// `CN=…, URI=…` as the certificate names its subject.
    static func subject(_ c: Certificate) -> String {
        ((c.commonName.map { ["CN=" + $0] } ?? []) + c.uris.map { "URI=" + $0 }).joined(separator: ", ")
    }
}

import Foundation
import GatewayMapping
import GatewayModel

/// `/console/playground`: paste or upload a regional document, pick a mapping or let the gateway
/// recognise it, and see what `xgw translate --explain` shows: each canonical record with the
/// lineage of every member (source location, raw value, steps, result), each rejection with its
/// member, source location and code. Only the translator runs (`Translator.translate`, which
/// parses, maps and validates): nothing is signed, routed or enqueued, and no metric counts it.
/// The records show what the user pasted; a rejection's lineage has personal members masked as the
/// logs quote them (`PersonalData`), its messages are masked already.
enum PlaygroundPage: ConsolePage {
    static let path = "playground"
    static let navigation: ConsoleNavigation? = ConsoleNavigation(chinese: "映射试验", english: "Mapping playground")

    static let template = """
        <p class="muted">只做翻译和校验：不签名、不路由、不入队。 Translates and validates only: nothing is signed, routed or enqueued.</p>
        <form method="post" action="/console/playground" enctype="multipart/form-data">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <p><label for="pg-document">粘贴文档 Paste a document</label><br>
            <textarea id="pg-document" name="document" rows="14" cols="100" spellcheck="false" aria-describedby="pg-help">{{document}}</textarea></p>
          <p><label for="pg-file">或上传文件 Or upload a file</label> <input id="pg-file" name="file" type="file" aria-describedby="pg-help"></p>
          <p id="pg-help" class="muted">上传的文件优先于粘贴的文本（按原字节读取，可为 GBK）。 An uploaded file wins over pasted text (read as bytes, GBK allowed); at most 1 MiB.</p>
          <p><label for="pg-mapping">映射 Mapping</label>
            <select id="pg-mapping" name="mapping"><option value="">自动识别 Auto-detect</option>
            {{#mappings}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{id}}</option>{{/mappings}}</select>
          <button type="submit" id="pg-run">翻译 Translate</button></p>
        </form>
        {{#ran}}
        <section aria-labelledby="result-heading">
        <h2 id="result-heading">结果 Result</h2>
        <p id="pg-summary" role="status">{{#source}}文件 File <code>{{source}}</code>: {{/source}}映射 Mapping: <strong>{{mappingUsed}}</strong>;
          记录 {{translatedCount}} 条 records translated, 拒绝 {{rejectedCount}} 条 rejected.</p>
        {{#records}}
        <article class="record" aria-labelledby="record-{{index}}">
          <h3 id="record-{{index}}">记录 Record {{index}}: <code>{{recordId}}</code> <span class="ok">✓ 已通过 Valid</span></h3>
          <details open><summary>规范记录 Canonical record</summary><pre>{{canonical}}</pre></details>
          \(lineageTemplate)
        </article>
        {{/records}}
        {{#rejections}}
        <article class="rejection" aria-labelledby="rejection-{{key}}">
          <h3 id="rejection-{{key}}" class="error">✗ {{where}} 被拒绝 rejected{{#hasRecordId}}: <code>{{recordId}}</code>{{/hasRecordId}}</h3>
          <table class="errors">
            <thead><tr><th scope="col">代码 Code</th><th scope="col">成员 Member</th><th scope="col">源位置 Source location</th><th scope="col">说明 Message</th></tr></thead>
            <tbody>{{#errors}}<tr><td><code>{{code}}</code></td><td><code>{{path}}</code></td><td><code>{{source}}</code>{{#line}} line {{line}}{{/line}}{{#column}}, column {{column}}{{/column}}</td><td>{{message}}</td></tr>{{/errors}}</tbody>
          </table>
          \(lineageTemplate)
        </article>
        {{/rejections}}
        </section>
        {{/ran}}
        """

    /// The `--explain` lineage of one record, one row a member.
    static let lineageTemplate = """
        {{#hasLineage}}<details{{#openLineage}} open{{/openLineage}}><summary>来源追溯 Lineage (--explain)</summary>
        <table class="lineage">
          <thead><tr><th scope="col">成员 Member</th><th scope="col">来源 Source</th><th scope="col">原值 Raw</th><th scope="col">步骤 Steps</th><th scope="col">结果 Result</th></tr></thead>
          <tbody>{{#lineage}}<tr><td><code>{{path}}</code></td><td><code>{{source}}</code></td><td><code>{{raw}}</code></td><td>{{steps}}</td><td><code>{{result}}</code></td></tr>{{/lineage}}</tbody>
        </table></details>{{/hasLineage}}
        """

    static func get(_ request: ConsoleRequest) async throws -> ConsoleView {
        .page(title: "映射试验 Mapping playground", data: form(request, document: "", mapping: nil))
    }

    static func post(_ request: ConsoleRequest) async throws -> ConsoleView {
        let translator = request.gateway.translator
        let mapping = request.form["mapping"].flatMap { $0.isEmpty ? nil : $0 }
        if let mapping, translator.mapping(id: mapping) == nil {
            throw ConsoleError(.badRequest, "没有该映射 No mapping \(mapping)")
        }
        let pasted = request.form["document"] ?? ""
        var bytes = Array(pasted.utf8)
        var source: String?
        if let base64 = request.form["file:base64"], let data = Data(base64Encoded: base64), !data.isEmpty {
            bytes = Array(data)
            source = request.form["file:filename"] ?? ""
        }
        var data = form(request, document: source == nil ? pasted : "", mapping: mapping)
        guard !bytes.isEmpty else {
            data["ran"] = false
            return .page(title: "映射试验 Mapping playground", data: data)
        }
        var records: [[String: Any]] = []
        var rejections: [[String: Any]] = []
        let summary = translator.translate(bytes, mappingID: mapping, explain: true) { outcome in
            switch outcome {
            case .translated(let index, let record, let lineage):
                records.append([
                    "index": index, "recordId": record["recordId"]?.stringValue ?? "", "canonical": record.canonicalString,
                    "hasLineage": !lineage.isEmpty, "lineage": lineage.map { row($0, masked: false) },
                ])
            case .rejected(let rejection, let lineage):
                rejections.append(Self.rejection(rejection, lineage: lineage, key: rejections.count))
            }
        }
        if records.isEmpty, rejections.isEmpty, let whole = summary.documentRejection {
            rejections.append(Self.rejection(whole, lineage: [], key: 0))
        }
        data["ran"] = true
        data["source"] = source
        data["mappingUsed"] = summary.mapping?.id ?? "无 none"
        data["records"] = records
        data["rejections"] = rejections
        data["translatedCount"] = records.count
        data["rejectedCount"] = rejections.count
        return .page(title: "映射试验 Mapping playground", data: data)
    }

    static func form(_ request: ConsoleRequest, document: String, mapping: String?) -> [String: Any] {
        [
            "document": document,
            "mappings": request.gateway.translator.mappings.map { ["id": $0.id, "selected": $0.id == mapping] as [String: Any] },
        ]
    }

    static func rejection(_ rejection: Rejection, lineage: [Lineage], key: Int) -> [String: Any] {
        [
            "key": key, "where": rejection.index.map { "记录 Record \($0)" } ?? "文档 The document",
            "recordId": rejection.recordId ?? "", "hasRecordId": rejection.recordId != nil,
            "errors": rejection.errors.map { e -> [String: Any] in
                var o: [String: Any] = ["code": e.code.rawValue, "path": e.path ?? "—", "source": e.source ?? "—", "message": e.message]
                if let line = e.line { o["line"] = line }
                if let column = e.column { o["column"] = column }
                return o
            },
            // Open: the lineage shows which source value failed.
            "hasLineage": !lineage.isEmpty, "openLineage": true, "lineage": lineage.map { row($0, masked: true) },
        ]
    }

    /// One lineage row; `masked`: personal members' raw value and result as the logs quote them.
    static func row(_ l: Lineage, masked: Bool) -> [String: Any] {
        let personal = masked && PersonalData.kind(of: l.path) != nil
        let raw = l.raw.map { personal ? PersonalData.quote($0, at: l.path) : $0 } ?? ""
        let result = l.result.map { (personal ? ConsoleFormat.masked($0, path: l.path) : $0).canonicalString } ?? ""
        return ["path": l.path, "source": l.source ?? "(常量 constant)", "raw": raw, "steps": l.steps.joined(separator: " | "), "result": result]
    }
}

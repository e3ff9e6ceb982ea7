import GatewayModel
import GatewayXML

/// A value on its way back from a canonical member to the regional document.
enum RenderValue {
    case text(String)
    case texts([String])
}

/// Why a member could not be written back (an error code and a message without personal data).
struct RenderFailure: Error {
    var code: RecordError.Code
    var message: String
}

extension Renderer {
    enum DraftOutcome {
        case success(Draft)
        case failure([RecordError])
    }

    /// How many records one document holds at most: `render.batch`, 1 when the record is the
    /// document's root element.
    public var batchLimit: Int? {
        mapping.render.batch ?? (recordsTarget.isEmpty ? 1 : nil)
    }

    var recordsTarget: [String] { PlanCompiler(mapping: mapping).target(mapping.records) }

    /// The record's part of the document, or why it cannot be written.
    func draft(_ record: JSONValue) -> DraftOutcome {
        guard case .object(let object) = record else {
            return .failure([RecordError(.invalidValue, message: "a canonical record is a JSON object")])
        }
        let kind = object["kind"]?.stringValue ?? "(none)"
        guard kind == mapping.kind else {
            return .failure([
                RecordError(.wrongKind, path: "/kind", message: "\(mapping.id) renders \(mapping.kind) records, not \(kind)")
            ])
        }
        let invalid = CanonicalValidator.validate(record)
        if !invalid.isEmpty { return .failure(invalid) }
        let d = Draft()
        var errors: [RecordError] = []
        apply(plans, object, into: d, pointer: "", errors: &errors)
        if !errors.isEmpty { return .failure(errors) }
        return .success(d)
    }

    private func apply(_ plans: [Plan], _ object: JSONObject, into d: Draft, pointer: String, errors: inout [RecordError]) {
        for plan in plans {
            switch plan {
            case .value(let member, let memberText, let target, let inverse, let output):
                guard let v = Self.member(member, in: object) else { continue }
                do {
                    d.set(target[...], .scalar(try scalar(v, inverse, output)))
                } catch {
                    errors.append(RecordError(error.code, path: pointer + Self.relative(memberText, member), message: error.message))
                }
            case .cases(let member, let memberText, let choices):
                guard let v = Self.member(member, in: object) else { continue }
                guard let choice = choices.first(where: { $0.value == v }) else {
                    errors.append(
                        RecordError(.unknownCode, path: pointer + Self.relative(memberText, member), message: "\(mapping.id) has no way to write this value"))
                    continue
                }
                for w in choice.writes { d.set(w.target[...], .scalar(Draft.Scalar(text: w.text))) }
            case .group(let member, let memberText, let target, let split, let element):
                guard let v = Self.member(member, in: object) else { continue }
                let path = pointer + Self.relative(memberText, member)
                let elements: [JSONValue]
                if let split {
                    guard let s = v.stringValue else {
                        errors.append(RecordError(.invalidValue, path: path, message: "expected a text"))
                        continue
                    }
                    elements = s.components(separatedBy: split).map(JSONValue.string)
                } else {
                    guard let a = v.arrayValue else {
                        errors.append(RecordError(.invalidValue, path: path, message: "expected an array"))
                        continue
                    }
                    elements = a
                }
                var items: [Draft.Value] = []
                for (i, e) in elements.enumerated() {
                    let itemPath = split == nil ? path + "/" + String(i) : path
                    switch element {
                    case .object(let inner):
                        guard case .object(let o) = e else {
                            errors.append(RecordError(.invalidValue, path: itemPath, message: "expected an object"))
                            continue
                        }
                        let child = Draft()
                        apply(inner, o, into: child, pointer: itemPath, errors: &errors)
                        items.append(.node(child))
                    case .value(let t, let inverse, let output):
                        do {
                            items.append(Self.item(try scalar(e, inverse, output), at: t))
                        } catch {
                            errors.append(RecordError(error.code, path: itemPath, message: error.message))
                        }
                    case .text(let template, let t, let output):
                        guard case .object(let o) = e else {
                            errors.append(RecordError(.invalidValue, path: itemPath, message: "expected an object"))
                            continue
                        }
                        var s = Draft.Scalar(text: Self.fill(template, o), kind: output.kind)
                        s.cdata = output.cdata
                        items.append(Self.item(s, at: t))
                    }
                }
                if !items.isEmpty { d.set(target[...], .list(items)) }
            }
        }
    }

    private static func item(_ s: Draft.Scalar, at target: [String]) -> Draft.Value {
        if target.isEmpty { return .scalar(s) }
        let d = Draft()
        d.set(target[...], .scalar(s))
        return .node(d)
    }

    /// `{name}` replaced by the text of member `name` of `o` (nothing when absent).
    static func fill(_ template: String, _ o: JSONObject) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            if let v = o[name] { out += v.stringValue ?? v.numberValue?.text ?? "" }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// The pointer of a member written relative to its group element (`/law` inside /legalBasis/0).
    private static func relative(_ memberText: String, _ member: [String]) -> String {
        "/" + member.joined(separator: "/")
    }

    static func member(_ tokens: [String], in object: JSONObject) -> JSONValue? {
        guard let first = tokens.first, var current = object[first] else { return nil }
        for t in tokens.dropFirst() {
            guard let next = current[t] else { return nil }
            current = next
        }
        return current
    }

    private func scalar(_ v: JSONValue, _ inverse: [Inverse], _ output: Plan.Output) throws(RenderFailure) -> Draft.Scalar {
        var value: RenderValue
        switch v {
        case .string(let s): value = .text(s)
        case .number(let n): value = .text(n.text)
        case .bool(let b): value = .text(b ? "true" : "false")
        case .array(let a):
            var texts: [String] = []
            for e in a {
                guard let s = e.stringValue else { throw RenderFailure(code: .invalidValue, message: "expected texts") }
                texts.append(s)
            }
            value = .texts(texts)
        case .object, .null:
            throw RenderFailure(code: .invalidValue, message: "expected a single value, found an object")
        }
        for step in inverse { value = try step.apply(value) }
        guard case .text(var text) = value else {
            throw RenderFailure(code: .unrenderable, message: "\(mapping.id) writes a single value here, the record has several")
        }
        if let template = output.template { text = template.replacingOccurrences(of: "{}", with: text) }
        var s = Draft.Scalar(text: text, kind: output.kind)
        s.cdata = output.cdata
        return s
    }
}

extension Inverse {
    func apply(_ value: RenderValue) throws(RenderFailure) -> RenderValue {
        switch (self, value) {
        case (.identity, _):
            return value
        case (.split(let separator), .text(let s)):
            return .texts(s.components(separatedBy: separator))
        case (.htmlParagraphs, .text(let s)):
            return .text(Self.html([s]))
        case (.htmlParagraphs, .texts(let list)):
            return .text(Self.html(list))
        case (_, .texts(let list)):
            var out: [String] = []
            for item in list {
                guard case .text(let t) = try apply(.text(item)) else { continue }
                out.append(t)
            }
            return .texts(out)
        case (.stripSystem, .text(let s)):
            guard let colon = s.firstIndex(of: ":") else {
                throw RenderFailure(code: .invalidValue, message: "a record id is <system>:<id>")
            }
            return .text(String(s[s.index(after: colon)...]))
        case (.instant(let p), .text(let s)):
            guard let t = LocalDateTime(instant: s) else { throw RenderFailure(code: .invalidDatetime, message: "not a canonical instant") }
            return .text(p.format(t))
        case (.epochMilliseconds, .text(let s)):
            guard let t = LocalDateTime(instant: s) else { throw RenderFailure(code: .invalidDatetime, message: "not a canonical instant") }
            return .text(String(t.epochSeconds * 1000))
        case (.date(let p), .text(let s)):
            guard let d = LocalDate(iso: s), let t = LocalDateTime(date: d) else {
                throw RenderFailure(code: .invalidDatetime, message: "not a canonical date")
            }
            return .text(p.format(t))
        case (.money(let power, _, let decimals), .text(let s)):
            guard let fen = Int(s), fen >= 0 else { throw RenderFailure(code: .invalidAmount, message: "an amount is a whole number of fen") }
            return .text(Self.decimal(fen, power: power, decimals: decimals))
        case (.reverse(let table, let entries), .text(let s)):
            guard let back = entries[s] else {
                throw RenderFailure(code: .unknownCode, message: "'\(s)' has no entry in \(table) to write back")
            }
            return .text(back)
        }
    }

    /// `fen` / 10^power in plain decimal notation, with at least `decimals` fraction digits
    /// (`20000` fen in 元: `200`, with 1 decimal `200.0`, with 2 `200.00`; `300000` in 万元: `0.3`).
    static func decimal(_ fen: Int, power: Int, decimals: Int) -> String {
        var digits = String(fen)
        guard power > 0 else { return decimals > 0 ? digits + "." + String(repeating: "0", count: decimals) : digits }
        if digits.count <= power { digits = String(repeating: "0", count: power - digits.count + 1) + digits }
        var whole = String(digits.dropLast(power))
        var fraction = String(digits.suffix(power))
        while fraction.count > decimals, fraction.last == "0" { fraction.removeLast() }
        while fraction.count < decimals { fraction.append("0") }
        if whole.isEmpty { whole = "0" }
        return fraction.isEmpty ? whole : whole + "." + fraction
    }

    /// An HTML fragment of one `<p>` per paragraph: text escaped, a line break as `<br>`.
    static func html(_ paragraphs: [String]) -> String {
        paragraphs.map { "<p>" + MarkupEscaping.html($0, lineBreak: "<br>") + "</p>" }.joined()
    }
}

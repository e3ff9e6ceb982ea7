import GatewayModel

/// Builds one canonical record from one source record by running a mapping's rules, then
/// validates it against the canonical model. Errors carry the canonical pointer and the source
/// location; locations are only computed when needed (an error, or `explain`).
struct RecordBuilder<Node: SourceNode> {
    let mapping: Mapping
    let coverage: Coverage?
    let explain: Bool
    private(set) var errors: [RecordError] = []
    private(set) var lineage: [Lineage] = []
    /// Where the rules put their members (`MemberLayout`), and the head every record starts with.
    let layout: MemberLayout
    let head: [JSONObject.Member]

    init(mapping: Mapping, coverage: Coverage?, explain: Bool) {
        self.mapping = mapping
        self.coverage = coverage
        self.explain = explain
        self.layout = MemberLayout(mapping.members, head: MemberLayout.headKeys)
        self.head = [
            .init(key: "kind", value: .string(mapping.kind)),
            .init(key: "schemaVersion", value: .number(JSONNumber(1))),
            .init(
                key: "source",
                value: .object(
                    JSONObject([
                        .init(key: "region", value: .string(mapping.region)),
                        .init(key: "system", value: .string(mapping.system)),
                        .init(key: "format", value: .string(mapping.format)),
                    ]))),
        ]
        assert(head.map { [$0.key] } == MemberLayout.headKeys)
    }

    mutating func build(_ node: Node, index: Int) -> RecordOutcome {
        errors.removeAll(keepingCapacity: true)
        lineage.removeAll(keepingCapacity: true)
        var object = JSONObject()
        object.members.reserveCapacity(layout.entries.count + head.count)
        object.members.append(contentsOf: head)
        evaluate(mapping.members, layout, node, into: &object, prefix: "")
        let record = JSONValue.object(object)

        var all = errors
        let transformPaths = errors.compactMap(\.path)
        for var e in CanonicalValidator.validate(record) {
            if let p = e.path, transformPaths.contains(where: { Self.overlaps($0, p) }) { continue }
            if e.source == nil { e.source = locate(e.path, code: e.code, node) }
            all.append(e)
        }
        if mapping.kind == "bulletin", let audience = object["audience"]?.arrayValue, audience.count > 1 {
            for (i, entry) in audience.enumerated() where entry == .string("all") {
                let p = "/audience/\(i)"
                all.append(
                    RecordError(.invalidValue, path: p, source: locate(p, code: .invalidValue, node), message: "'all' must be the only audience entry"))
            }
        }
        if all.isEmpty {
            return .translated(index: index, record: record, lineage: lineage)
        }
        var recordId: String?
        if !all.contains(where: { $0.path == "/recordId" }) { recordId = object["recordId"]?.stringValue }
        return .rejected(Rejection(index: index, recordId: recordId, errors: all), lineage: lineage)
    }

    static func overlaps(_ a: String, _ b: String) -> Bool {
        a == b || b.hasPrefix(a + "/") || a.hasPrefix(b + "/")
    }

    private func hit(_ branch: Int?) {
        if let coverage, let branch { coverage.hit(mapping, branch) }
    }

    private mutating func evaluate(_ rules: [MemberRule], _ layout: MemberLayout, _ node: Node, into object: inout JSONObject, prefix: String) {
        for (rule, entry) in zip(rules, layout.entries) {
            if let condition = rule.condition, !condition.holds(on: node) {
                hit(rule.conditionFalseBranch)
                continue
            }
            let path = MemberPath(prefix: prefix, member: rule.toText)
            if !rule.checks.isEmpty, !checksPass(rule.checks, node, path: path) { continue }
            switch rule.body {
            case .constant(let v):
                Self.set(v, at: rule.to[...], depth: 0, entry: entry, in: &object)
                hit(rule.branch)
                if explain { lineage.append(Lineage(path: path.text, source: nil, raw: nil, steps: ["constant"], result: v)) }
            case .value(let source, let transforms):
                if let v = value(source, transforms, rule: rule, node, path: path) {
                    Self.set(v, at: rule.to[...], depth: 0, entry: entry, in: &object)
                }
            case .cases(let cases):
                var tried: [String] = []
                for c in cases {
                    if let condition = c.condition, !condition.holds(on: node) {
                        if explain { tried.append("not \(condition.text) (\(condition.value(on: node).display))") }
                        continue
                    }
                    Self.set(c.value, at: rule.to[...], depth: 0, entry: entry, in: &object)
                    hit(rule.branch)
                    hit(c.branch)
                    if explain {
                        let sources = cases.compactMap { $0.condition.map { node.location(of: $0.source) } }
                        var seen = Set<String>()
                        lineage.append(
                            Lineage(
                                path: path.text, source: sources.filter { seen.insert($0).inserted }.joined(separator: ", "),
                                raw: c.condition.map { $0.value(on: node).display },
                                steps: tried + [c.condition.map { "when \($0.text)" } ?? "otherwise"], result: c.value))
                    }
                    break
                }
            case .each(let source, let element, let join):
                var array: [JSONValue] = []
                for child in node.nodes(source) {
                    let elementPath = path.text + "/" + String(array.count)
                    switch element {
                    case .object(let members):
                        var o = JSONObject()
                        o.members.reserveCapacity(members.count)
                        evaluate(members, entry.element!, child, into: &o, prefix: elementPath)
                        if !o.isEmpty { array.append(.object(o)) }
                    case .value(let src, let transforms):
                        switch value(src, transforms, rule: nil, child, path: MemberPath(prefix: elementPath, member: "")) {
                        case .array(let items)?: array.append(contentsOf: items)
                        case let v?: array.append(v)
                        case nil: break
                        }
                    }
                }
                if let join, !array.isEmpty {
                    let text = array.map { $0.stringValue ?? $0.canonicalString }.joined(separator: join)
                    Self.set(.string(text), at: rule.to[...], depth: 0, entry: entry, in: &object)
                    hit(rule.branch)
                } else if !array.isEmpty {
                    Self.set(.array(array), at: rule.to[...], depth: 0, entry: entry, in: &object)
                    hit(rule.branch)
                }
            }
        }
    }

    private mutating func checksPass(_ checks: [Condition], _ node: Node, path: MemberPath) -> Bool {
        var ok = true
        for check in checks {
            guard case .oneOf(let allowed) = check.test else { continue }
            let v = check.value(on: node)
            guard let text = v.plainText else {
                errors.append(RecordError(.missingField, path: path.text, source: node.location(of: check.source), message: "\(check.source.text) is required"))
                ok = false
                continue
            }
            if !allowed.contains(text) {
                errors.append(
                    RecordError(
                        .unknownCode, path: path.text, source: node.location(of: check.source),
                        message: "'\(PersonalData.quote(text, at: path.text))' is not one of \(allowed.joined(separator: ", "))"))
                ok = false
            }
        }
        return ok
    }

    /// Reads, trims and transforms one value; nil when absent (or rejected: the error is recorded).
    private mutating func value(
        _ source: SourcePath, _ transforms: [Transform], rule: MemberRule?, _ node: Node, path: MemberPath
    ) -> JSONValue? {
        let raw = node.scalar(source)
        if case .compound = raw {
            errors.append(
                RecordError(.invalidValue, path: path.text, source: node.location(of: source), message: "expected a single value, found an object or array"))
            return nil
        }
        var v = raw.trimmed
        let rawDisplay = explain ? v.display : ""
        var steps: [String] = []
        if let rule, rule.requiresNumber, case .text = v {
            let code: RecordError.Code
            switch transforms.first {
            case .money?: code = .invalidAmount
            case .instant?, .date?: code = .invalidDatetime
            default: code = .invalidValue
            }
            errors.append(RecordError(code, path: path.text, source: node.location(of: source), message: "expected a JSON number, found a string"))
            return nil
        }
        for t in transforms {
            do {
                v = try t.apply(v)
            } catch {
                errors.append(RecordError(error.code, path: path.text, source: node.location(of: source), message: error.message(at: path.text)))
                if explain { lineage.append(Lineage(path: path.text, source: node.location(of: source), raw: rawDisplay, steps: steps + [t.name + " ✗"], result: nil)) }
                return nil
            }
            if explain { steps.append(t.name) }
        }
        var result: JSONValue?
        switch v {
        case .absent:
            if let d = rule?.defaultValue {
                hit(rule?.defaultBranch)
                if explain { steps.append("default") }
                result = d
            }
        case .text(let s): result = .string(s)
        case .number(let n): result = .number(JSONNumber(uncheckedText: n))
        case .texts(let list): result = .array(list.map(JSONValue.string))
        case .json(let j): result = j
        }
        if result != nil, let rule, rule.defaultValue == nil || v != .absent { hit(rule.branch) }
        if explain {
            lineage.append(Lineage(path: path.text, source: node.location(of: source), raw: rawDisplay, steps: steps, result: result))
        }
        return result
    }

    /// Where the source of a canonical member stands (for errors found by model validation).
    func locate(_ path: String?, code: RecordError.Code, _ node: Node) -> String? {
        guard let path, code != "insufficient-officers" else { return node.location }
        return Self.locate(path, in: mapping.members, node) ?? node.location
    }

    private static func locate(_ path: String, in rules: [MemberRule], _ node: Node) -> String? {
        for rule in rules {
            if rule.toText == path {
                switch rule.body {
                case .value(let s, _): return node.location(of: s)
                case .each(let s, _, _): return node.location(ofGroup: s)
                case .cases(let cases): return cases.first?.condition.map { node.location(of: $0.source) }
                case .constant: return nil
                }
            }
            guard path.hasPrefix(rule.toText + "/"), case .each(let s, let element, _) = rule.body else { continue }
            let rest = path.dropFirst(rule.toText.count + 1)
            let indexText = rest.prefix { $0 != "/" }
            let children = node.nodes(s)
            guard let i = Int(indexText), i < children.count else { return node.location(of: s) }
            let child = children[i]
            let remainder = String(rest.dropFirst(indexText.count))
            switch element {
            case .value(let s2, _) where remainder.isEmpty: return child.location(of: s2)
            case .object where remainder.isEmpty: return child.location
            case .object(let members): return locate(remainder, in: members, child) ?? child.location
            case .value(let s2, _): return child.location(of: s2)
            }
        }
        return nil
    }
}

extension Condition {
    /// The source value as the test sees it: trimmed, then through the condition's transforms
    /// (a value a transform refuses counts as absent).
    func value<Node: SourceNode>(on node: Node) -> Value {
        var v = node.scalar(source).trimmed
        for t in transforms {
            guard let next = try? t.apply(v) else { return .absent }
            v = next
        }
        return v
    }

    func holds<Node: SourceNode>(on node: Node) -> Bool {
        let v = value(on: node)
        switch test {
        case .present: if case .absent = v { return false } else { return true }
        case .absent: if case .absent = v { return true } else { return false }
        case .equals(let s): return v.plainText == s
        case .notEquals(let s): return v.plainText != s
        case .oneOf(let list): return v.plainText.map(list.contains) ?? false
        }
    }
}

extension Value {
    /// The text of a single value (text or number), nil otherwise.
    var plainText: String? {
        switch self {
        case .text(let s), .number(let s): s
        default: nil
        }
    }
}

/// A canonical member's pointer, concatenated only when it is needed (an error, or `explain`).
struct MemberPath {
    var prefix: String
    var member: String
    var text: String { prefix.isEmpty ? member : prefix + member }
}

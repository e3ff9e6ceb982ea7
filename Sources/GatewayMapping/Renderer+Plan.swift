import GatewayModel
import GatewayXML

/// The output document before it is written: ordered entries of an object (JSON) or an element
/// (XML: `@name` an attribute, `#text` the element's own text, anything else a child element).
final class Draft {
    enum Value {
        case scalar(Scalar)
        case node(Draft)
        case list([Value])
    }

    struct Scalar {
        enum Kind { case string, number, boolean }
        var text: String
        var kind: Kind = .string
        var cdata = false
    }

    var entries: [(key: String, value: Value)] = []

    static let textKey = "#text"

    /// Sets `value` at `path` (find-or-create the steps before it); an empty path sets the text of
    /// this node.
    func set(_ path: ArraySlice<String>, _ value: Value) {
        guard let first = path.first else {
            put(Self.textKey, value)
            return
        }
        if path.count == 1 {
            if let i = entries.firstIndex(where: { $0.key == first }), case .node(let child) = entries[i].value, case .scalar = value {
                child.put(Self.textKey, value)
            } else {
                put(first, value)
            }
            return
        }
        child(first).set(path.dropFirst(), value)
    }

    private func put(_ key: String, _ value: Value) {
        if let i = entries.firstIndex(where: { $0.key == key }) {
            entries[i].value = value
        } else {
            entries.append((key, value))
        }
    }

    /// The child node named `key`, made when there is none (a scalar there becomes its text).
    func child(_ key: String) -> Draft {
        if let i = entries.firstIndex(where: { $0.key == key }) {
            switch entries[i].value {
            case .node(let d): return d
            case .scalar(let s):
                let d = Draft()
                d.entries.append((Self.textKey, .scalar(s)))
                entries[i].value = .node(d)
                return d
            case .list:
                let d = Draft()
                entries.append((key, .node(d)))
                return d
            }
        }
        let d = Draft()
        entries.append((key, .node(d)))
        return d
    }
}

/// One forward rule read backwards.
indirect enum Plan: Sendable {
    /// The canonical member at `member` (pointer tokens relative to the record or group element),
    /// through `inverse`, written at `target`.
    case value(member: [String], memberText: String, target: [String], inverse: [Inverse], output: Output)
    /// A member whose value chose a case: the source values that make the forward rule choose it.
    case cases(member: [String], memberText: String, choices: [(value: JSONValue, writes: [(target: [String], text: String)])])
    /// A repeated group: one output element per canonical array element (or per piece of a joined
    /// text), at `target`.
    case group(member: [String], memberText: String, target: [String], split: String?, element: Element)

    enum Element: Sendable {
        case object([Plan])
        case value(target: [String], inverse: [Inverse], output: Output)
        /// Each canonical element written as one text (`text` override): `{name}` is its member.
        case text(template: String, target: [String], output: Output)
    }

    struct Output: Sendable {
        var kind: Draft.Scalar.Kind = .string
        var cdata = false
        var template: String?
    }
}

/// The way back of one transform.
enum Inverse: Sendable {
    /// Canonical values are already what the transform gives (identifier, plate, bracket rules...).
    case identity
    /// `prefix`: the record id without its system (`sc-traffic:5117…` → `5117…`).
    case stripSystem
    case instant(DateTimePattern)
    case epochMilliseconds
    case date(DateTimePattern)
    /// Fen → the unit (10^power fen), at least `decimals` fraction digits.
    case money(power: Int, unit: String, decimals: Int)
    case reverse(table: String, entries: [String: String])
    /// Paragraphs → an HTML fragment of `<p>` elements.
    case htmlParagraphs
    /// `join`: a joined text → its pieces.
    case split(String)
}

/// Compiles a mapping's rules into plans, with its `render:` overrides.
struct PlanCompiler {
    let mapping: Mapping

    func error(_ line: Int, _ message: String) -> ConfigurationError {
        ConfigurationError(file: mapping.file, line: line, message: "render: " + message)
    }

    mutating func compile(_ rules: [MemberRule], prefix: String) throws(ConfigurationError) -> [Plan] {
        var plans: [Plan] = []
        for rule in rules {
            let memberText = prefix + rule.toText
            let o = mapping.render.overrides[memberText]
            switch rule.body {
            case .constant:
                continue
            case .value(let source, let transforms):
                plans.append(
                    .value(
                        member: rule.to, memberText: memberText, target: target(source),
                        inverse: try inverses(transforms, override: o, line: rule.line, member: memberText),
                        output: output(rule: rule, transforms: transforms, override: o)))
            case .cases(let cases):
                plans.append(.cases(member: rule.to, memberText: memberText, choices: try choices(rule, cases)))
            case .each(let source, let element, let join):
                let compiled: Plan.Element
                if let text = o?.text {
                    guard case .object = element else { throw error(rule.line, "'text' is for groups of objects (\(memberText))") }
                    compiled = .text(template: text, target: [], output: Plan.Output(cdata: o?.cdata ?? false))
                } else {
                    switch element {
                    case .object(let members):
                        compiled = .object(try compile(members, prefix: memberText))
                    case .value(let src, let transforms):
                        compiled = .value(
                            target: target(src), inverse: try inverses(transforms, override: o, line: rule.line, member: memberText),
                            output: output(rule: nil, transforms: transforms, override: o))
                    }
                }
                plans.append(.group(member: rule.to, memberText: memberText, target: target(source), split: join, element: compiled))
            }
        }
        return plans
    }

    /// Output path tokens of a source path: JSON Pointer tokens, or XML steps (namespace prefixes
    /// dropped: the output has one default namespace), `.` being the node itself.
    func target(_ source: SourcePath) -> [String] {
        switch source.compiled {
        case .json(let tokens): return tokens
        case .xml:
            if source.text == "." { return [] }
            return source.text.split(separator: "/").map { step in
                let s = step.hasPrefix("@") ? String(step.dropFirst()) : String(step)
                let local = s.split(separator: ":", maxSplits: 1).last.map(String.init) ?? s
                return step.hasPrefix("@") ? "@" + local : local
            }
        }
    }

    func output(rule: MemberRule?, transforms: [Transform], override o: RenderSettings.Override?) -> Plan.Output {
        var out = Plan.Output(cdata: o?.cdata ?? false, template: o?.template)
        if let t = o?.type {
            out.kind = t == .number ? .number : t == .boolean ? .boolean : .string
        } else if rule?.requiresNumber == true || transforms.contains(where: { if case .integer = $0 { true } else if case .number = $0 { true } else { false } }) {
            out.kind = .number
        }
        return out
    }

    func inverses(_ transforms: [Transform], override o: RenderSettings.Override?, line: Int, member: String) throws(ConfigurationError) -> [Inverse] {
        var out: [Inverse] = []
        for t in transforms.reversed() {
            switch t {
            case .identifier, .plate, .replace, .participant:
                continue
            case .prefix:
                out.append(.stripSystem)
            case .instant(let source, _):
                switch source {
                case .pattern(let p): out.append(.instant(o?.instant ?? p))
                case .epochMilliseconds: out.append(.epochMilliseconds)
                case .iso8601: continue
                }
            case .date(let p, _):
                out.append(.date(o?.instant ?? p))
            case .money(let power, let unit, _):
                out.append(.money(power: power, unit: unit, decimals: o?.decimals ?? 0))
            case .integer, .number:
                continue
            case .lookup(let table, _, let entries):
                out.append(.reverse(table: table, entries: try reversed(entries, table, line)))
            case .enumeration(let map):
                out.append(.reverse(table: "enum", entries: try reversed(map, "enum", line)))
            case .htmlParagraphs:
                out.append(.htmlParagraphs)
            case .join(let separator):
                out.append(.split(separator))
            case .capture:
                throw error(line, "\(member) is captured from a larger text: say how to write it back (render.members with 'text')")
            }
        }
        return out
    }

    func reversed(_ entries: [String: String], _ table: String, _ line: Int) throws(ConfigurationError) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            if out[value] != nil { throw error(line, "\(table): the value '\(value)' has two sources, so the way back is ambiguous") }
            out[value] = key
        }
        return out
    }

    /// For each case, the source values that make the forward rule choose it: its own condition
    /// holds, every earlier one fails, and every checked source holds an allowed value.
    func choices(_ rule: MemberRule, _ cases: [MemberRule.Case]) throws(ConfigurationError) -> [(value: JSONValue, writes: [(target: [String], text: String)])] {
        var allowed: [String: [String]] = [:]
        var targets: [String: [String]] = [:]
        for check in rule.checks {
            if case .oneOf(let list) = check.test { allowed[check.source.text] = list }
            targets[check.source.text] = target(check.source)
        }
        var out: [(value: JSONValue, writes: [(target: [String], text: String)])] = []
        for (i, c) in cases.enumerated() {
            var writes: [String: String] = [:]
            for earlier in cases[..<i] {
                guard let cond = earlier.condition else { continue }
                targets[cond.source.text] = target(cond.source)
                if let v = try satisfy(cond, holds: false, allowed[cond.source.text], rule.line) { writes[cond.source.text] = v }
            }
            if let cond = c.condition {
                targets[cond.source.text] = target(cond.source)
                guard let v = try satisfy(cond, holds: true, allowed[cond.source.text], rule.line) else {
                    throw error(rule.line, "\(rule.toText): no value makes '\(cond.text)' hold")
                }
                writes[cond.source.text] = v
            }
            for (source, list) in allowed where writes[source] == nil {
                if let first = list.first { writes[source] = first }
            }
            out.append((c.value, writes.sorted { $0.key < $1.key }.map { (targets[$0.key] ?? [], $0.value) }))
        }
        return out
    }

    private func satisfy(_ c: Condition, holds: Bool, _ allowed: [String]?, _ line: Int) throws(ConfigurationError) -> String? {
        switch (c.test, holds) {
        case (.equals(let s), true), (.notEquals(let s), false): return s
        case (.oneOf(let list), true): return list.first
        case (.equals(let s), false), (.notEquals(let s), true): return allowed?.first { $0 != s }
        case (.oneOf(let list), false): return allowed?.first { !list.contains($0) }
        case (.absent, true), (.present, false): return nil
        case (.present, true), (.absent, false):
            throw error(line, "a case that needs \(c.source.text) present cannot be written back")
        }
    }
}

import Foundation
import GatewayModel
import GatewayXML
import Yams

extension Mapping {
    /// Loads every `*.yaml` mapping of a folder (not `routes.yaml`). All files are read; the errors
    /// of all of them are reported together.
    public static func loadAll(directory: String, seeds: Seeds) throws(ConfigurationErrors) -> [Mapping] {
        let (mappings, errors) = loadEach(directory: directory, seeds: seeds)
        if !errors.isEmpty { throw ConfigurationErrors(errors) }
        return mappings
    }

    /// Every mapping file of `directory` that loads, and the problems of those that do not (so that
    /// lint checks the good files, and the routes against them, when one file is broken).
    public static func loadEach(directory: String, seeds: Seeds) -> (mappings: [Mapping], errors: [ConfigurationError]) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.hasPrefix("routes.") }
            .sorted()
        if names.isEmpty {
            return ([], [ConfigurationError(file: directory, message: "no mapping files (*.yaml) in this folder")])
        }
        var mappings: [Mapping] = []
        var errors: [ConfigurationError] = []
        for name in names {
            do {
                let m = try Mapping.load(path: directory + "/" + name, seeds: seeds)
                if mappings.contains(where: { $0.id == m.id }) {
                    errors.append(ConfigurationError(file: directory + "/" + name, message: "mapping id '\(m.id)' is used by another file"))
                }
                mappings.append(m)
            } catch {
                errors.append(error)
            }
        }
        return (mappings, errors)
    }

    public static func load(path: String, seeds: Seeds) throws(ConfigurationError) -> Mapping {
        var loader = MappingLoader(file: try YAMLFile(path: path), seeds: seeds)
        return try loader.load()
    }

    public static func load(path: String, text: String, seeds: Seeds) throws(ConfigurationError) -> Mapping {
        var loader = MappingLoader(file: try YAMLFile(path: path, text: text), seeds: seeds)
        return try loader.load()
    }
}

/// Reads the YAML of one mapping file into a `Mapping`, checking its shape as it goes.
struct MappingLoader {
    let file: YAMLFile
    let seeds: Seeds
    var syntax: Mapping.Syntax = .json
    var namespaces: [String: String] = [:]
    var branchNames: [BranchName] = []

    init(file: YAMLFile, seeds: Seeds) {
        self.file = file
        self.seeds = seeds
    }

    mutating func load() throws(ConfigurationError) -> Mapping {
        let top = try file.mapping(file.root, "a mapping file")
        try file.allowKeys(
            top, ["id", "version", "kind", "region", "system", "syntax", "namespaces", "detect", "source-error", "records", "members", "description", "render"],
            in: "a mapping file")
        func req(_ key: String) throws(ConfigurationError) -> Node {
            guard let n = top[key] else { throw file.error(file.root, "missing '\(key)'") }
            return n
        }
        let id = try file.string(try req("id"), "id")
        let version = try file.int(try req("version"), "version")
        let kind = try file.string(try req("kind"), "kind")
        guard ["traffic-violation", "enforcement-case", "bulletin"].contains(kind) else {
            throw file.error(top["kind"], "kind must be traffic-violation, enforcement-case or bulletin")
        }
        let region = try file.string(try req("region"), "region")
        guard region == "sichuan" || region == "chongqing" else { throw file.error(top["region"], "region must be sichuan or chongqing") }
        let system = try file.string(try req("system"), "system")
        let syntaxText = try file.string(try req("syntax"), "syntax")
        guard let syntax = Mapping.Syntax(rawValue: syntaxText) else { throw file.error(top["syntax"], "syntax must be xml or json") }
        self.syntax = syntax
        if let ns = top["namespaces"] {
            for (k, v) in try file.mapping(ns, "namespaces") {
                namespaces[try file.string(k, "a namespace prefix")] = try file.string(v, "a namespace URI")
            }
        }
        let detectNode = try req("detect")
        let detectMap = try file.mapping(detectNode, "detect")
        try file.allowKeys(detectMap, ["root", "namespace", "when"], in: "detect")
        var detection = Detection(
            root: try detectMap["root"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "root") },
            namespace: try detectMap["namespace"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "namespace") },
            conditions: [], line: (top.first { $0.key.string == "detect" }?.key ?? detectNode).mark?.line)
        if syntax == .xml && detection.root == nil { throw file.error(detectNode, "an XML mapping must name its root element") }
        if let when = detectMap["when"] {
            for c in try file.sequence(when, "when") { detection.conditions.append(try condition(c)) }
        }
        if syntax == .json && detection.conditions.isEmpty {
            throw file.error(detectNode, "a JSON mapping needs at least one 'when' condition to recognise its documents")
        }
        var sourceError: SourceErrorRule?
        if let se = top["source-error"] {
            let m = try file.mapping(se, "source-error")
            try file.allowKeys(m, ["unless", "message"], in: "source-error")
            guard let unless = m["unless"] else { throw file.error(se, "source-error needs 'unless' (the condition of a successful answer)") }
            sourceError = SourceErrorRule(
                condition: try condition(unless),
                message: try m["message"].map { (n: Node) throws(ConfigurationError) in try path(n) })
        }
        let records = try path(try req("records"))
        let members = try rules(try req("members"), "members")
        let render = try renderSettings(top["render"], line: top.first { $0.key.string == "render" }?.key.mark?.line)
        var mapping = Mapping(
            id: id, version: version, kind: kind, region: region, system: system, syntax: syntax, file: file.path,
            detect: detection, sourceError: sourceError, records: records, members: members, namespaces: namespaces,
            branchNames: branchNames)
        mapping.render = render
        return mapping
    }

    func path(_ node: Node) throws(ConfigurationError) -> SourcePath {
        let text = try file.string(node, "a source path")
        switch syntax {
        case .json:
            guard let tokens = JSONSourceNode.parsePointer(text) else {
                throw file.error(node, "'\(text)' is not a JSON Pointer (RFC 6901: '' or '/a/b', '~0' and '~1' escapes)")
            }
            return SourcePath(text: text, compiled: .json(tokens))
        case .xml:
            do {
                let compiled = try XMLPath(text, namespaces: namespaces)
                let suffix = text.split(separator: "/").map { step in
                    step.split(separator: ":", maxSplits: 1).last.map(String.init) ?? String(step)
                }.joined(separator: "/")
                return SourcePath(text: text, compiled: .xml(XMLSourcePath(path: compiled, locationSuffix: suffix, isSelf: text == ".")))
            } catch {
                throw file.error(node, "'\(text)' is not a valid XPath: \(error)")
            }
        }
    }

    func condition(_ node: Node) throws(ConfigurationError) -> Condition {
        let m = try file.mapping(node, "a condition")
        try file.allowKeys(m, ["from", "apply", "equals", "not-equals", "one-of", "present", "absent"], in: "a condition")
        guard let from = m["from"] else { throw file.error(node, "a condition needs 'from'") }
        let source = try path(from)
        let test: Condition.Test
        let text: String
        if let v = m["equals"] {
            let s = try file.string(v, "equals")
            test = .equals(s)
            text = "\(source.text) = \(s)"
        } else if let v = m["not-equals"] {
            let s = try file.string(v, "not-equals")
            test = .notEquals(s)
            text = "\(source.text) ≠ \(s)"
        } else if let v = m["one-of"] {
            var list: [String] = []
            for item in try file.sequence(v, "one-of") { list.append(try file.string(item, "one-of")) }
            test = .oneOf(list)
            text = "\(source.text) in [\(list.joined(separator: ", "))]"
        } else if let v = m["present"] {
            test = try file.bool(v, "present") ? .present : .absent
            text = "\(source.text) \(try file.bool(v, "present") ? "present" : "absent")"
        } else if let v = m["absent"] {
            test = try file.bool(v, "absent") ? .absent : .present
            text = "\(source.text) \(try file.bool(v, "absent") ? "absent" : "present")"
        } else {
            throw file.error(node, "a condition needs one of equals, not-equals, one-of, present, absent")
        }
        return Condition(source: source, transforms: try transforms(m["apply"]), test: test, text: text)
    }

    mutating func branch(_ rule: String, _ branch: String?, _ node: Node) -> Int {
        branchNames.append(BranchName(rule: rule, branch: branch, line: node.mark?.line ?? 0))
        return branchNames.count - 1
    }

    mutating func rules(_ node: Node, _ what: String) throws(ConfigurationError) -> [MemberRule] {
        var out: [MemberRule] = []
        var seen = Set<String>()
        for item in try file.sequence(node, what) {
            let rule = try memberRule(item)
            if rule.condition == nil, !seen.insert(rule.toText).inserted {
                throw file.error(item, "'\(rule.toText)' is written by two unconditional rules")
            }
            out.append(rule)
        }
        return out
    }

    mutating func memberRule(_ node: Node) throws(ConfigurationError) -> MemberRule {
        let m = try file.mapping(node, "a member rule")
        try file.allowKeys(m, ["to", "from", "apply", "value", "cases", "if", "default", "each", "members", "join", "check", "type", "note"], in: "a member rule")
        guard let toNode = m["to"] else { throw file.error(node, "a member rule needs 'to' (the canonical member, a JSON Pointer)") }
        let toText = try file.string(toNode, "to")
        guard let to = JSONSourceNode.parsePointer(toText), !to.isEmpty, toText.hasPrefix("/") else {
            throw file.error(toNode, "'to' must be a JSON Pointer such as /vehicle/plate")
        }
        let ruleBranch = branch(toText, nil, node)
        let condition = try m["if"].map { (n: Node) throws(ConfigurationError) in try self.condition(n) }
        var checks: [Condition] = []
        if let c = m["check"] {
            for item in try file.sequence(c, "check") {
                let cond = try self.condition(item)
                guard case .oneOf = cond.test else { throw file.error(item, "a check is { from: PATH, one-of: [VALUES] }") }
                checks.append(cond)
            }
        }
        var requiresNumber = false
        if let t = m["type"] {
            guard syntax == .json, try file.string(t, "type") == "number" else {
                throw file.error(t, "'type' is only for JSON mappings and can only be 'number'")
            }
            requiresNumber = true
        }
        let conditionFalse = condition.map { branch(toText, "if not: \($0.text)", node) }
        var defaultValue: JSONValue?
        var defaultBranch: Int?
        if let d = m["default"] {
            defaultValue = try constant(d)
            defaultBranch = branch(toText, "default", d)
        }
        let body: MemberRule.Body
        if let each = m["each"] {
            let eachPath = try path(each)
            let join = try m["join"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "join") }
            if let members = m["members"] {
                if join != nil { throw file.error(m["join"], "'join' needs text elements, not 'members'") }
                body = .each(eachPath, element: .object(try rules(members, "members")), join: nil)
            } else {
                let from: SourcePath
                if let f = m["from"] { from = try path(f) } else { from = try path(Node(syntax == .xml ? "." : "")) }
                body = .each(eachPath, element: .value(from, try transforms(m["apply"])), join: join)
            }
        } else if let v = m["value"] {
            body = .constant(try constant(v))
        } else if let cs = m["cases"] {
            var cases: [MemberRule.Case] = []
            for c in try file.sequence(cs, "cases") {
                let cm = try file.mapping(c, "a case")
                try file.allowKeys(cm, ["when", "value"], in: "a case")
                guard let v = cm["value"] else { throw file.error(c, "a case needs 'value'") }
                let cond = try cm["when"].map { (n: Node) throws(ConfigurationError) in try self.condition(n) }
                cases.append(MemberRule.Case(condition: cond, value: try constant(v), branch: branch(toText, cond.map { "when \($0.text)" } ?? "otherwise", c)))
            }
            body = .cases(cases)
        } else if let from = m["from"] {
            body = .value(try path(from), try transforms(m["apply"]))
        } else {
            throw file.error(node, "a member rule needs 'from', 'value', 'cases' or 'each'")
        }
        return MemberRule(
            to: to, toText: toText, body: body, condition: condition, checks: checks, requiresNumber: requiresNumber, defaultValue: defaultValue, branch: ruleBranch,
            conditionFalseBranch: conditionFalse, defaultBranch: defaultBranch, line: node.mark?.line ?? 0)
    }

    func constant(_ node: Node) throws(ConfigurationError) -> JSONValue {
        switch node {
        case .scalar(let s):
            if s.style == .plain {
                if let i = Int(s.string) { return .number(JSONNumber(i)) }
                if s.string == "true" { return .bool(true) }
                if s.string == "false" { return .bool(false) }
            }
            return .string(s.string)
        case .sequence(let seq):
            var out: [JSONValue] = []
            for n in seq { out.append(try constant(n)) }
            return .array(out)
        default:
            throw file.error(node, "a constant must be a value or a list of values")
        }
    }

    func transforms(_ node: Node?) throws(ConfigurationError) -> [Transform] {
        guard let node else { return [] }
        var out: [Transform] = []
        for item in try file.sequence(node, "apply") { out.append(try transform(item)) }
        return out
    }

    func transform(_ node: Node) throws(ConfigurationError) -> Transform {
        if case .scalar(let s) = node {
            switch s.string {
            case "identifier": return .identifier
            case "plate": return .plate
            case "integer": return .integer
            case "number": return .number
            case "epoch-millis": return .instant(.epochMilliseconds, pattern: "epoch milliseconds")
            case "iso8601": return .instant(.iso8601, pattern: "ISO 8601 with offset")
            case "html-paragraphs": return .htmlParagraphs
            default: throw file.error(node, "unknown transform '\(s.string)'")
            }
        }
        let m = try file.mapping(node, "a transform")
        guard m.count == 1, let (keyNode, arg) = m.first else { throw file.error(node, "a transform is one name with its argument") }
        let key = try file.string(keyNode, "a transform name")
        switch key {
        case "prefix":
            return .prefix(try file.string(arg, "prefix"))
        case "instant", "date":
            let pattern = try file.string(arg, key)
            let p: DateTimePattern
            do { p = try DateTimePattern(pattern) } catch { throw file.error(arg, error.description) }
            return key == "instant" ? .instant(.pattern(p), pattern: pattern) : .date(p, pattern: pattern)
        case "money":
            let unit: String
            var suffixes: [String]? = nil
            if case .scalar = arg {
                unit = try file.string(arg, "money")
            } else {
                let mm = try file.mapping(arg, "money")
                try file.allowKeys(mm, ["unit", "suffixes"], in: "money")
                guard let u = mm["unit"] else { throw file.error(arg, "money needs 'unit' (yuan or wan)") }
                unit = try file.string(u, "unit")
                if let s = mm["suffixes"] {
                    var list: [String] = []
                    for n in try file.sequence(s, "suffixes") { list.append(try file.string(n, "a suffix")) }
                    suffixes = list
                }
            }
            switch unit {
            case "yuan": return .money(powerOfTen: 2, unit: "元", suffixes: suffixes ?? ["元"])
            case "wan": return .money(powerOfTen: 6, unit: "万元", suffixes: suffixes ?? ["万元"])
            case "fen": return .money(powerOfTen: 0, unit: "分", suffixes: suffixes ?? ["分"])
            default: throw file.error(arg, "money unit must be yuan, wan or fen")
            }
        case "lookup":
            let mm = try file.mapping(arg, "lookup")
            try file.allowKeys(mm, ["table", "by"], in: "lookup")
            guard let t = mm["table"] else { throw file.error(arg, "lookup needs 'table'") }
            let tableName = try file.string(t, "table")
            guard let table = seeds.codeTables[tableName] else {
                throw file.error(t, "no code table '\(tableName)' in seeds/code-tables (have: \(seeds.codeTables.keys.sorted().joined(separator: ", ")))")
            }
            let by = try mm["by"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "by") } ?? "code"
            guard by == "code" || by == "name" else { throw file.error(mm["by"], "'by' must be code or name") }
            var entries: [String: String] = [:]
            for e in table.entries { entries[by == "code" ? e.code : e.name] = e.value }
            return .lookup(table: tableName, byName: by == "name", entries: entries)
        case "enum":
            var map: [String: String] = [:]
            for (k, v) in try file.mapping(arg, "enum") { map[try file.string(k, "an enum key")] = try file.string(v, "an enum value") }
            return .enumeration(map)
        case "replace":
            let mm = try file.mapping(arg, "replace")
            try file.allowKeys(mm, ["pattern", "with"], in: "replace")
            guard let p = mm["pattern"], let w = mm["with"] else { throw file.error(arg, "replace needs 'pattern' and 'with'") }
            let pattern = try file.string(p, "pattern")
            return .replace(pattern: pattern, regex: try regex(pattern, p), template: try file.string(w, "with"))
        case "capture":
            let mm = try file.mapping(arg, "capture")
            try file.allowKeys(mm, ["pattern", "group", "otherwise"], in: "capture")
            guard let p = mm["pattern"] else { throw file.error(arg, "capture needs 'pattern'") }
            let pattern = try file.string(p, "pattern")
            let group = try mm["group"].map { (n: Node) throws(ConfigurationError) in try file.int(n, "group") } ?? 1
            let otherwiseText = try mm["otherwise"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "otherwise") } ?? "reject"
            guard let otherwise = Transform.CaptureFallback(rawValue: otherwiseText) else {
                throw file.error(mm["otherwise"], "'otherwise' must be keep, absent or reject")
            }
            let re = try regex(pattern, p)
            guard group <= re.numberOfCaptureGroups else { throw file.error(mm["group"], "the pattern has only \(re.numberOfCaptureGroups) groups") }
            return .capture(pattern: pattern, regex: re, group: group, otherwise: otherwise)
        case "join":
            return .join(try file.string(arg, "join"))
        case "participant":
            let mm = try file.mapping(arg, "participant")
            try file.allowKeys(mm, ["kinds", "allow"], in: "participant")
            var kinds: [Participant.Kind] = []
            if let k = mm["kinds"] {
                for n in try file.sequence(k, "kinds") {
                    guard let kind = Participant.Kind(rawValue: try file.string(n, "a kind")) else {
                        throw file.error(n, "a participant kind is office or alliance-member")
                    }
                    kinds.append(kind)
                }
            } else {
                kinds = [.office, .allianceMember]
            }
            var allow = Set<String>()
            if let a = mm["allow"] { for n in try file.sequence(a, "allow") { allow.insert(try file.string(n, "allow")) } }
            let ids = Set(seeds.participants.filter { kinds.contains($0.kind) }.map(\.id))
            return .participant(kinds: kinds, ids: ids, allow: allow)
        default:
            throw file.error(keyNode, "unknown transform '\(key)'")
        }
    }

    func regex(_ pattern: String, _ node: Node) throws(ConfigurationError) -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern)
        } catch {
            throw file.error(node, "'\(pattern)' is not a valid regular expression")
        }
    }
}

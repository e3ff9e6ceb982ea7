import Foundation
import GatewayModel
import Yams

/// The routing rules of `Mappings/routes.yaml`: which participants receive a canonical record.
public struct Routes: Sendable {
    public struct Rule: Sendable {
        public var name: String
        var kinds: [String]?
        var regions: [String]?
        var systems: [String]?
        var formats: [String]?
        var submitters: [String]?
        var predicates: [Predicate]
        public var to: [String]
        public var toMember: String?
        public var final: Bool
        public var line: Int
    }

    struct Predicate: Sendable {
        enum Test: Sendable {
            case equals(String), prefix(String), oneOf([String]), present
        }
        var member: JSONPointer
        var test: Test
        var text: String

        func holds(_ record: JSONValue) -> Bool {
            guard let v = record.value(at: member) else { return false }
            let s = v.stringValue ?? v.numberValue?.text ?? v.boolValue.map { $0 ? "true" : "false" }
            switch test {
            case .present: return true
            case .equals(let e): return s == e
            case .prefix(let p): return s?.hasPrefix(p) ?? false
            case .oneOf(let list): return s.map(list.contains) ?? false
            }
        }
    }

    /// Where a record goes and why.
    public struct Decision: Sendable, Hashable {
        public var destinations: [String]
        public var matchedRules: [String]
    }

    public var rules: [Rule]
    public var file: String
    let allianceMembers: [String]
    let participantIDs: Set<String>

    /// Routes a record submitted by `submitter`. Throws a `no-route` error when it goes nowhere.
    public func route(_ record: JSONValue, submitter: String) throws(RecordError) -> Decision {
        var destinations: [String] = []
        var matched: [String] = []
        func add(_ id: String) {
            if id != submitter && !destinations.contains(id) { destinations.append(id) }
        }
        for rule in rules where matches(rule, record, submitter: submitter) {
            matched.append(rule.name)
            rule.to.forEach(add)
            if let member = rule.toMember, let pointer = JSONPointer(member), let v = record.value(at: pointer) {
                let ids = v.arrayValue?.compactMap(\.stringValue) ?? v.stringValue.map { [$0] } ?? []
                let issuer = record.canonicalRecord.issuer
                for id in ids {
                    if id == "all" {
                        allianceMembers.filter { $0 != issuer }.forEach(add)
                    } else if participantIDs.contains(id) {
                        add(id)
                    }
                }
            }
            if rule.final { break }
        }
        if destinations.isEmpty {
            throw RecordError(
                "no-route",
                message: matched.isEmpty
                    ? "no route matches this \(record.canonicalRecord.kindName ?? "record") from \(submitter)"
                    : "the matching routes (\(matched.joined(separator: ", "))) name no destination other than the submitter")
        }
        return Decision(destinations: destinations, matchedRules: matched)
    }

    func matches(_ rule: Rule, _ record: JSONValue, submitter: String) -> Bool {
        let view = record.canonicalRecord
        if let kinds = rule.kinds, !kinds.contains(view.kindName ?? "") { return false }
        if let regions = rule.regions, !regions.contains(view.region ?? "") { return false }
        if let systems = rule.systems, !systems.contains(view.system ?? "") { return false }
        if let formats = rule.formats, !formats.contains(view.format ?? ""), !formats.contains(view.mappingID ?? "") {
            return false
        }
        if let submitters = rule.submitters, !submitters.contains(submitter) { return false }
        return rule.predicates.allSatisfy { $0.holds(record) }
    }

    /// The participant that submits a record when none is named (`xgw routes test` without
    /// `--from`): a bulletin's issuer, else the joint office of the record's source region.
    public static func defaultSubmitter(for record: JSONValue, seeds: Seeds) -> String? {
        let view = record.canonicalRecord
        if let issuer = view.issuer { return issuer }
        let region = view.region
        return seeds.offices.first { $0.region == region }?.id
    }
}

extension Routes {
    /// Loads `routes.yaml` from a mappings folder.
    public static func load(directory: String, seeds: Seeds) throws(ConfigurationError) -> Routes {
        try load(path: directory + "/routes.yaml", seeds: seeds)
    }

    public static func load(path: String, seeds: Seeds) throws(ConfigurationError) -> Routes {
        let file = try YAMLFile(path: path)
        let top = try file.mapping(file.root, "routes.yaml")
        try file.allowKeys(top, ["routes"], in: "routes.yaml")
        guard let list = top["routes"] else { throw file.error(file.root, "missing 'routes'") }
        var rules: [Rule] = []
        var names = Set<String>()
        func strings(_ node: Node, _ what: String) throws(ConfigurationError) -> [String] {
            if case .scalar = node { return [try file.string(node, what)] }
            var out: [String] = []
            for n in try file.sequence(node, what) { out.append(try file.string(n, what)) }
            return out
        }
        for node in try file.sequence(list, "routes") {
            let m = try file.mapping(node, "a route")
            try file.allowKeys(m, ["name", "match", "to", "to-member", "final", "note"], in: "a route")
            guard let nameNode = m["name"] else { throw file.error(node, "a route needs a 'name'") }
            let name = try file.string(nameNode, "name")
            guard names.insert(name).inserted else { throw file.error(nameNode, "route '\(name)' is defined twice") }
            var rule = Rule(
                name: name, predicates: [], to: [], toMember: nil, final: false, line: node.mark?.line ?? 0)
            if let match = m["match"] {
                let mm = try file.mapping(match, "match")
                try file.allowKeys(mm, ["kind", "region", "system", "format", "submitter", "where"], in: "match")
                rule.kinds = try mm["kind"].map { (n: Node) throws(ConfigurationError) in try strings(n, "kind") }
                rule.regions = try mm["region"].map { (n: Node) throws(ConfigurationError) in try strings(n, "region") }
                rule.systems = try mm["system"].map { (n: Node) throws(ConfigurationError) in try strings(n, "system") }
                rule.formats = try mm["format"].map { (n: Node) throws(ConfigurationError) in try strings(n, "format") }
                rule.submitters = try mm["submitter"].map { (n: Node) throws(ConfigurationError) in try strings(n, "submitter") }
                if let w = mm["where"] {
                    for p in try file.sequence(w, "where") {
                        let pm = try file.mapping(p, "a predicate")
                        try file.allowKeys(pm, ["member", "equals", "prefix", "one-of", "present"], in: "a predicate")
                        guard let memberNode = pm["member"] else { throw file.error(p, "a predicate needs 'member'") }
                        let memberText = try file.string(memberNode, "member")
                        guard let pointer = JSONPointer(memberText) else { throw file.error(memberNode, "'\(memberText)' is not a JSON Pointer") }
                        let test: Predicate.Test
                        let text: String
                        if let e = pm["equals"] {
                            let s = try file.string(e, "equals")
                            test = .equals(s)
                            text = "\(memberText) = \(s)"
                        } else if let e = pm["prefix"] {
                            let s = try file.string(e, "prefix")
                            test = .prefix(s)
                            text = "\(memberText) starts with \(s)"
                        } else if let e = pm["one-of"] {
                            let list = try strings(e, "one-of")
                            test = .oneOf(list)
                            text = "\(memberText) in [\(list.joined(separator: ", "))]"
                        } else if pm["present"] != nil {
                            test = .present
                            text = "\(memberText) present"
                        } else {
                            throw file.error(p, "a predicate needs equals, prefix, one-of or present")
                        }
                        rule.predicates.append(Predicate(member: pointer, test: test, text: text))
                    }
                }
            }
            if let to = m["to"] { rule.to = try strings(to, "to") }
            if let tm = m["to-member"] {
                let text = try file.string(tm, "to-member")
                guard JSONPointer(text) != nil else { throw file.error(tm, "'\(text)' is not a JSON Pointer") }
                rule.toMember = text
            }
            if let f = m["final"] { rule.final = try file.bool(f, "final") }
            if rule.to.isEmpty && rule.toMember == nil { throw file.error(node, "route '\(name)' names no destination ('to' or 'to-member')") }
            rules.append(rule)
        }
        return Routes(
            rules: rules, file: path, allianceMembers: seeds.allianceMembers.map(\.id),
            participantIDs: Set(seeds.participants.map(\.id)))
    }
}

/// `xgw mappings lint` checks of the routes: unknown participants, kinds, regions and formats, and
/// rules that can never be reached because an earlier final rule matches everything they match.
/// When some mapping file did not load (`mappingsComplete` false), kinds, formats and systems are
/// not checked: the broken file may be the one that provides them, and its own error says what is wrong.
public enum RoutesLint {
    public static func check(directory: String, seeds: Seeds, mappings: [Mapping], mappingsComplete: Bool = true) -> [ConfigurationError] {
        let path = directory + "/routes.yaml"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let routes: Routes
        do { routes = try Routes.load(path: path, seeds: seeds) } catch { return [error] }
        var problems: [ConfigurationError] = []
        let ids = Set(seeds.participants.map(\.id))
        let kinds = Set(mappings.map(\.kind))
        let formats = Set(mappings.map(\.id) + mappings.map(\.format))
        let systems = Set(mappings.map(\.system))
        for (i, rule) in routes.rules.enumerated() {
            func problem(_ m: String) { problems.append(ConfigurationError(file: path, line: rule.line, message: "route '\(rule.name)': \(m)")) }
            for id in rule.to + (rule.submitters ?? []) where !ids.contains(id) { problem("'\(id)' is not a participant of seeds/participants.yaml") }
            for k in rule.kinds ?? [] where mappingsComplete && !kinds.contains(k) { problem("no mapping produces records of kind '\(k)'") }
            for r in rule.regions ?? [] where r != "sichuan" && r != "chongqing" { problem("region '\(r)' is neither sichuan nor chongqing") }
            for f in rule.formats ?? [] where mappingsComplete && !formats.contains(f) { problem("no mapping '\(f)'") }
            for s in rule.systems ?? [] where mappingsComplete && !systems.contains(s) { problem("no mapping has system '\(s)'") }
            if let earlier = routes.rules[..<i].first(where: { $0.final && covers($0, rule) }) {
                problem("unreachable: the earlier final route '\(earlier.name)' matches every record this one matches")
            }
        }
        return problems
    }

    /// Whether every record matched by `b` is matched by `a` (each condition of `a` is implied by `b`'s).
    static func covers(_ a: Routes.Rule, _ b: Routes.Rule) -> Bool {
        func implied(_ x: [String]?, _ y: [String]?) -> Bool {
            guard let x else { return true }
            guard let y else { return false }
            return Set(y).isSubset(of: Set(x))
        }
        let bPredicates = Set(b.predicates.map(\.text))
        return implied(a.kinds, b.kinds) && implied(a.regions, b.regions) && implied(a.systems, b.systems)
            && implied(a.formats, b.formats) && implied(a.submitters, b.submitters)
            && a.predicates.allSatisfy { bPredicates.contains($0.text) }
    }
}

import Foundation
import GatewayModel

/// Static checks of mapping files against the canonical schema (`docs/spec/canonical.schema.json`):
/// every member a mapping writes exists in the model, every required member is written, and every
/// value an `enum`, a `lookup`, a constant or a `cases` writes to a member with an `enum` in the
/// schema is one of its values.
/// Shape, XPath, JSON Pointer and code-table problems are already found when a mapping loads.
public struct MappingLint: Sendable {
    /// A member of the canonical model: its pointer (array elements as `/*`), whether required,
    /// and whether it is an array of objects.
    struct SchemaMember: Hashable {
        var pointer: String
        var required: Bool
        var parent: String
        /// The canonical JSON text of each value of the member's `enum`, when it has one.
        var allowed: [String]? = nil
    }

    let membersByKind: [String: [String: SchemaMember]]

    /// Reads the canonical schema file.
    public init(schemaPath: String) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: schemaPath) else {
            throw ConfigurationError(file: schemaPath, message: "cannot read the canonical schema")
        }
        let schema: JSONValue
        do { schema = try JSONParser.parse(Array(data)) } catch {
            throw ConfigurationError(file: schemaPath, line: error.line, column: error.column, message: "not JSON: \(error.message)")
        }
        guard let defs = schema["$defs"]?.objectValue else { throw ConfigurationError(file: schemaPath, message: "no $defs") }
        func resolve(_ v: JSONValue) -> JSONValue {
            if let ref = v["$ref"]?.stringValue, ref.hasPrefix("#/$defs/"), let target = defs[String(ref.dropFirst(8))] {
                return resolve(target)
            }
            return v
        }
        func walk(_ node: JSONValue, pointer: String, into out: inout [String: SchemaMember]) {
            let node = resolve(node)
            var properties: [JSONObject.Member] = node["properties"]?.objectValue?.members ?? []
            var requiredNames = Set(node["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            for part in node["allOf"]?.arrayValue ?? [] {
                let r = resolve(part)
                properties += r["properties"]?.objectValue?.members ?? []
                requiredNames.formUnion(r["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            for p in properties {
                let child = pointer + "/" + p.key
                let value = resolve(p.value)
                func allowed(_ v: JSONValue) -> [String]? { v["enum"]?.arrayValue?.map(\.canonicalString) }
                out[child] = SchemaMember(pointer: child, required: requiredNames.contains(p.key), parent: pointer, allowed: allowed(value))
                if value["type"]?.stringValue == "array", let items = value["items"] {
                    out[child + "/*"] = SchemaMember(pointer: child + "/*", required: false, parent: child, allowed: allowed(resolve(items)))
                    walk(items, pointer: child + "/*", into: &out)
                } else {
                    walk(value, pointer: child, into: &out)
                }
            }
        }
        var byKind: [String: [String: SchemaMember]] = [:]
        for (def, kind) in [("trafficViolation", "traffic-violation"), ("enforcementCase", "enforcement-case"), ("bulletin", "bulletin")] {
            guard let d = defs[def] else { continue }
            var members: [String: SchemaMember] = [:]
            walk(d, pointer: "", into: &members)
            byKind[kind] = members
        }
        self.membersByKind = byKind
    }

    /// The problems of one loaded mapping, as located configuration errors.
    public func check(_ mapping: Mapping) -> [ConfigurationError] {
        guard let members = membersByKind[mapping.kind] else {
            return [ConfigurationError(file: mapping.file, message: "the schema has no record kind '\(mapping.kind)'")]
        }
        var problems: [ConfigurationError] = []
        var written = Set(["/kind", "/schemaVersion", "/source", "/source/region", "/source/system", "/source/format"])
        /// A value the rule can write that the member's `enum` does not list.
        func checkValues(_ values: [JSONValue], at pointer: String, rule: MemberRule) {
            guard let allowed = members[pointer]?.allowed else { return }
            for value in values where value != .null && !allowed.contains(value.canonicalString) {
                problems.append(
                    ConfigurationError(
                        file: mapping.file, line: rule.line,
                        message: "'\(rule.toText)' can write \(value.canonicalString), which is not one of the schema's values for "
                            + "\(pointer.replacingOccurrences(of: "/*", with: "/0")) (\(allowed.joined(separator: ", ")))"))
            }
        }
        func visit(_ rules: [MemberRule], prefix: String) {
            for rule in rules {
                let pointer = prefix + rule.toText
                switch rule.body {
                case .value(_, let transforms): checkValues(Self.values(transforms) + [rule.defaultValue].compactMap { $0 }, at: pointer, rule: rule)
                case .constant(let value): checkValues([value], at: pointer, rule: rule)
                case .cases(let cases): checkValues(cases.map(\.value) + [rule.defaultValue].compactMap { $0 }, at: pointer, rule: rule)
                case .each(_, element: .value(_, let transforms), join: .none): checkValues(Self.values(transforms), at: pointer + "/*", rule: rule)
                case .each: break
                }
                // Every step of the pointer must be a member of the model.
                var partial = prefix
                for token in rule.to {
                    partial += "/" + token
                    if members[partial] == nil {
                        problems.append(
                            ConfigurationError(
                                file: mapping.file, line: rule.line,
                                message: "'\(rule.toText)' writes \(partial), which is not a member of a \(mapping.kind) record"))
                        break
                    }
                    written.insert(partial)
                }
                if case .each(_, let element, let join) = rule.body {
                    let isArray = members[pointer + "/*"] != nil
                    if join == nil && !isArray && members[pointer] != nil {
                        problems.append(
                            ConfigurationError(file: mapping.file, line: rule.line, message: "'\(rule.toText)' is not an array member; use 'join' or a single value"))
                    }
                    if join != nil && isArray {
                        problems.append(ConfigurationError(file: mapping.file, line: rule.line, message: "'\(rule.toText)' is an array; 'join' would write a string"))
                    }
                    if case .object(let sub) = element {
                        written.insert(pointer + "/*")
                        visit(sub, prefix: pointer + "/*")
                    }
                }
            }
        }
        visit(mapping.members, prefix: "")
        // Every required member whose parent is written (the record itself, or an object the mapping
        // writes at all) must be written too.
        for m in members.values.sorted(by: { $0.pointer < $1.pointer }) where m.required {
            let parentWritten = m.parent.isEmpty || written.contains(m.parent)
            if parentWritten && !written.contains(m.pointer) {
                problems.append(
                    ConfigurationError(file: mapping.file, message: "the required member \(m.pointer.replacingOccurrences(of: "/*", with: "/0")) is never written"))
            }
        }
        return problems
    }

    /// The values a transform list can end with, when its last step is a table (`enum`, `lookup`).
    static func values(_ transforms: [Transform]) -> [JSONValue] {
        switch transforms.last {
        case .enumeration(let map): Set(map.values).sorted().map(JSONValue.string)
        case .lookup(_, _, let entries): Set(entries.values).sorted().map(JSONValue.string)
        default: []
        }
    }
}

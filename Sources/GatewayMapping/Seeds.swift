import Foundation
import GatewayModel
import Yams

/// The reference data the gateway loads from `seeds/`: participants (offices and alliance members),
/// code tables and division codes.
public struct Seeds: Sendable {
    public var participants: [Participant]
    public var codeTables: [String: CodeTable]
    public var divisions: [Division]

    public init(participants: [Participant] = [], codeTables: [String: CodeTable] = [:], divisions: [Division] = []) {
        self.participants = participants
        self.codeTables = codeTables
        self.divisions = divisions
    }

    public func participant(_ id: String) -> Participant? { participants.first { $0.id == id } }
    public var offices: [Participant] { participants.filter { $0.kind == .office } }
    public var allianceMembers: [Participant] { participants.filter { $0.kind == .allianceMember } }
}

/// An office or alliance member that can send and receive records.
public struct Participant: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case office
        case allianceMember = "alliance-member"
    }

    public var id: String
    public var kind: Kind
    public var region: String
    public var name: String
    public var division: String?

    public init(id: String, kind: Kind, region: String, name: String, division: String? = nil) {
        self.id = id
        self.kind = kind
        self.region = region
        self.name = name
        self.division = division
    }
}

/// A code table (GA 24.7 plate types, case domains...): each entry has a source code, a Chinese name
/// and the canonical value it stands for (the code itself unless the table says otherwise).
public struct CodeTable: Sendable {
    public struct Entry: Sendable, Hashable {
        public var code: String
        public var name: String
        public var value: String
    }

    public var id: String
    public var description: String
    public var entries: [Entry]
    public var file: String
    let byCode: [String: Int]
    let byName: [String: Int]

    public init(id: String, description: String, entries: [Entry], file: String = "") {
        self.id = id
        self.description = description
        self.entries = entries
        self.file = file
        var byCode: [String: Int] = [:]
        var byName: [String: Int] = [:]
        for (i, e) in entries.enumerated() {
            byCode[e.code] = i
            byName[e.name] = i
        }
        self.byCode = byCode
        self.byName = byName
    }

    public func entry(code: String) -> Entry? { byCode[code].map { entries[$0] } }
    public func entry(name: String) -> Entry? { byName[name].map { entries[$0] } }
}

public struct Division: Sendable, Hashable {
    public var code: String
    public var name: String
    public var level: String
}

extension Seeds {
    /// Loads `participants.yaml`, `divisions.yaml` and every `code-tables/*.yaml` of a seeds folder.
    public static func load(directory: String) throws(ConfigurationError) -> Seeds {
        var seeds = Seeds()
        let fm = FileManager.default
        let participantsPath = directory + "/participants.yaml"
        if fm.fileExists(atPath: participantsPath) {
            let file = try YAMLFile(path: participantsPath)
            let top = try file.mapping(file.root, "participants.yaml")
            guard let list = top["participants"] else { throw file.error(file.root, "missing 'participants'") }
            var seen = Set<String>()
            for node in try file.sequence(list, "participants") {
                let m = try file.mapping(node, "a participant")
                try file.allowKeys(m, ["id", "kind", "region", "name", "division"], in: "a participant")
                func req(_ key: String) throws(ConfigurationError) -> String {
                    guard let v = m[key] else { throw file.error(node, "participant without '\(key)'") }
                    return try file.string(v, key)
                }
                let id = try req("id")
                guard seen.insert(id).inserted else { throw file.error(node, "participant '\(id)' listed twice") }
                let kindText = try req("kind")
                guard let kind = Participant.Kind(rawValue: kindText) else {
                    throw file.error(m["kind"], "kind must be office or alliance-member")
                }
                let region = try req("region")
                guard region == "sichuan" || region == "chongqing" else {
                    throw file.error(m["region"], "region must be sichuan or chongqing")
                }
                seeds.participants.append(
                    Participant(
                        id: id, kind: kind, region: region, name: try req("name"),
                        division: try m["division"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "division") }))
            }
        }
        let divisionsPath = directory + "/divisions.yaml"
        if fm.fileExists(atPath: divisionsPath) {
            let file = try YAMLFile(path: divisionsPath)
            let top = try file.mapping(file.root, "divisions.yaml")
            if let list = top["divisions"] {
                for node in try file.sequence(list, "divisions") {
                    let m = try file.mapping(node, "a division")
                    guard let code = m["code"], let name = m["name"] else { throw file.error(node, "division needs code and name") }
                    seeds.divisions.append(
                        Division(
                            code: try file.string(code, "code"), name: try file.string(name, "name"),
                            level: try m["level"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "level") } ?? ""))
                }
            }
        }
        let tablesDir = directory + "/code-tables"
        let names = ((try? fm.contentsOfDirectory(atPath: tablesDir)) ?? []).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        for name in names {
            let table = try CodeTable.load(path: tablesDir + "/" + name)
            if seeds.codeTables[table.id] != nil {
                throw ConfigurationError(file: tablesDir + "/" + name, message: "code table '\(table.id)' defined twice")
            }
            seeds.codeTables[table.id] = table
        }
        return seeds
    }
}

extension CodeTable {
    static func load(path: String) throws(ConfigurationError) -> CodeTable {
        let file = try YAMLFile(path: path)
        let top = try file.mapping(file.root, "a code table")
        try file.allowKeys(top, ["table", "description", "entries"], in: "a code table")
        guard let idNode = top["table"] else { throw file.error(file.root, "missing 'table' (the table id)") }
        let id = try file.string(idNode, "table")
        let description = try top["description"].map { (n: Node) throws(ConfigurationError) in try file.string(n, "description") } ?? ""
        guard let list = top["entries"] else { throw file.error(file.root, "missing 'entries'") }
        var entries: [Entry] = []
        var codes = Set<String>()
        var names = Set<String>()
        for node in try file.sequence(list, "entries") {
            let m = try file.mapping(node, "an entry")
            try file.allowKeys(m, ["code", "name", "value"], in: "an entry")
            guard let c = m["code"], let n = m["name"] else { throw file.error(node, "an entry needs code and name") }
            let code = try file.string(c, "code")
            let name = try file.string(n, "name")
            guard codes.insert(code).inserted else { throw file.error(c, "code '\(code)' listed twice") }
            guard names.insert(name).inserted else { throw file.error(n, "name '\(name)' listed twice") }
            let value = try m["value"].map { (v: Node) throws(ConfigurationError) in try file.string(v, "value") } ?? code
            entries.append(Entry(code: code, name: name, value: value))
        }
        return CodeTable(id: id, description: description, entries: entries, file: path)
    }
}

import GatewayModel
import Yams

/// The `render:` section of a mapping file: what the way back (canonical record → regional
/// document) cannot derive from the forward rules. Every part is optional; see docs/rendering.md.
public struct RenderSettings: Sendable {
    /// A constant part of the document outside the records, written before them in this order
    /// (`{count}` in a value is the number of records of the document).
    struct Part: Sendable {
        var at: [String]
        var value: String
    }

    /// How one canonical member is written, beside what its forward rule says.
    struct Override: Sendable {
        enum JSONType: String, Sendable { case string, number, boolean }
        /// Money: at least this many fraction digits (`200.0` with 1, `3000.00` with 2).
        var decimals: Int?
        /// JSON mappings: the JSON type of the written value.
        var type: JSONType?
        /// XML: the text as a CDATA section.
        var cdata = false
        /// The written text, `{}` standing for the value (`《{}》`).
        var template: String?
        /// A repeated group written as one text per element, `{member}` standing for the member of
        /// the canonical element (`《{law}》{article}`), absent members as nothing.
        var text: String?
        /// Instants: the pattern written, instead of the forward rule's.
        var instant: DateTimePattern?
    }

    /// A canonical member the format has no (full) place for, with the reason.
    public struct Lossy: Sendable, Hashable {
        /// A JSON Pointer where `*` stands for any array index (`/penalties/*/note`).
        public var member: String
        public var reason: String
        public var line: Int
    }

    /// At most this many records per document (1 for formats whose document is one record).
    public var batch: Int?
    /// XML: the encoding written (and declared).
    public var encoding = "UTF-8"
    var document: [Part]? = nil
    /// XML: attributes of each record element (`{index}` is its position in the document).
    var recordAttributes: [(name: String, value: String)] = []
    var overrides: [String: Override] = [:]
    public var lossy: [Lossy] = []
    /// The line of `render:` (0 when the section is absent).
    public var line = 0

    /// Whether a canonical member (a pointer with array indexes) is declared lossy.
    public func isLossy(_ pointer: String) -> Bool {
        lossy.contains { Self.matches($0.member, pointer) }
    }

    static func matches(_ pattern: String, _ pointer: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let q = pointer.split(separator: "/", omittingEmptySubsequences: false)
        guard q.count >= p.count else { return false }
        for (a, b) in zip(p, q) where a != "*" && a != b { return false }
        return true
    }
}

extension MappingLoader {
    /// Reads `render:` (absent: every default).
    func renderSettings(_ node: Node?, line: Int?) throws(ConfigurationError) -> RenderSettings {
        var settings = RenderSettings()
        guard let node else { return settings }
        settings.line = line ?? 0
        let m = try file.mapping(node, "render")
        try file.allowKeys(m, ["batch", "encoding", "document", "record-attributes", "members", "lossy"], in: "render")
        if let b = m["batch"] {
            let n = try file.int(b, "batch")
            guard n >= 1 else { throw file.error(b, "batch must be at least 1") }
            settings.batch = n
        }
        if let e = m["encoding"] {
            guard syntax == .xml else { throw file.error(e, "'encoding' is for XML mappings") }
            settings.encoding = try file.string(e, "encoding")
        }
        if let d = m["document"] {
            var parts: [RenderSettings.Part] = []
            for item in try file.sequence(d, "document") {
                let pm = try file.mapping(item, "a document part")
                try file.allowKeys(pm, ["at", "value"], in: "a document part")
                guard let at = pm["at"], let v = pm["value"] else { throw file.error(item, "a document part is { at: PATH, value: TEXT }") }
                parts.append(.init(at: try outputPath(at), value: try file.string(v, "value")))
            }
            settings.document = parts
        }
        if let a = m["record-attributes"] {
            guard syntax == .xml else { throw file.error(a, "'record-attributes' is for XML mappings") }
            for (k, v) in try file.mapping(a, "record-attributes") {
                settings.recordAttributes.append((try file.string(k, "an attribute name"), try file.string(v, "an attribute value")))
            }
        }
        if let ms = m["members"] {
            for (k, v) in try file.mapping(ms, "members") {
                let member = try file.string(k, "a canonical member")
                guard member.hasPrefix("/") else { throw file.error(k, "'\(member)' must be a JSON Pointer such as /facts") }
                settings.overrides[member] = try override(v)
            }
        }
        if let l = m["lossy"] {
            for item in try file.sequence(l, "lossy") {
                let lm = try file.mapping(item, "a lossy member")
                try file.allowKeys(lm, ["member", "reason"], in: "a lossy member")
                guard let mem = lm["member"], let why = lm["reason"] else {
                    throw file.error(item, "a lossy member is { member: POINTER, reason: TEXT }")
                }
                let pointer = try file.string(mem, "member")
                guard pointer.hasPrefix("/") else { throw file.error(mem, "'\(pointer)' must be a JSON Pointer such as /penalties/*/note") }
                settings.lossy.append(.init(member: pointer, reason: try file.string(why, "reason"), line: item.mark?.line ?? 0))
            }
        }
        return settings
    }

    private func override(_ node: Node) throws(ConfigurationError) -> RenderSettings.Override {
        let m = try file.mapping(node, "a member's rendering")
        try file.allowKeys(m, ["decimals", "type", "cdata", "template", "text", "instant"], in: "a member's rendering")
        var o = RenderSettings.Override()
        if let d = m["decimals"] { o.decimals = try file.int(d, "decimals") }
        if let t = m["type"] {
            guard syntax == .json, let type = RenderSettings.Override.JSONType(rawValue: try file.string(t, "type")) else {
                throw file.error(t, "'type' is for JSON mappings: string, number or boolean")
            }
            o.type = type
        }
        if let c = m["cdata"] {
            guard syntax == .xml else { throw file.error(c, "'cdata' is for XML mappings") }
            o.cdata = try file.bool(c, "cdata")
        }
        if let t = m["template"] {
            let text = try file.string(t, "template")
            guard text.contains("{}") else { throw file.error(t, "a template needs {} where the value goes") }
            o.template = text
        }
        if let t = m["text"] { o.text = try file.string(t, "text") }
        if let i = m["instant"] {
            let text = try file.string(i, "instant")
            do { o.instant = try DateTimePattern(text) } catch { throw file.error(i, error.description) }
        }
        return o
    }

    /// A path of the output document: JSON Pointer tokens (JSON), or element steps ending in an
    /// optional `@attribute` (XML).
    func outputPath(_ node: Node) throws(ConfigurationError) -> [String] {
        let text = try file.string(node, "a path")
        switch syntax {
        case .json:
            guard let tokens = JSONSourceNode.parsePointer(text), !tokens.isEmpty else { throw file.error(node, "'\(text)' is not a JSON Pointer") }
            return tokens
        case .xml:
            let steps = text.split(separator: "/").map(String.init)
            guard !steps.isEmpty, !steps.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw file.error(node, "'\(text)' must be element names, optionally ending in @attribute")
            }
            return steps
        }
    }
}

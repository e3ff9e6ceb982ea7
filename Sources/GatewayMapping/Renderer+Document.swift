import GatewayModel

extension Renderer {
    /// The constant parts of the document: `render.document`, else what detection and the
    /// source-error rule require (`schema`, `head/jkid`, `head/code`...).
    var documentParts: [RenderSettings.Part] {
        if let parts = mapping.render.document { return parts }
        let compiler = PlanCompiler(mapping: mapping)
        var conditions = mapping.detect.conditions
        if let se = mapping.sourceError { conditions.append(se.condition) }
        return conditions.compactMap { c in
            guard case .equals(let value) = c.test else { return nil }
            return RenderSettings.Part(at: compiler.target(c.source), value: value)
        }
    }

    /// The whole document holding `drafts`, in the format's syntax and encoding.
    func serialise(_ drafts: [Draft]) throws(RecordError) -> [UInt8] {
        let root = Draft()
        for part in documentParts {
            root.set(part.at[...], .scalar(Draft.Scalar(text: part.value.replacingOccurrences(of: "{count}", with: String(drafts.count)))))
        }
        let target = recordsTarget
        for (i, d) in drafts.enumerated() where mapping.syntax == .xml {
            let attributes = mapping.render.recordAttributes.map { a in
                (key: "@" + a.name, value: Draft.Value.scalar(Draft.Scalar(text: a.value.replacingOccurrences(of: "{index}", with: String(i)))))
            }
            d.entries.insert(contentsOf: attributes, at: 0)
        }
        if target.isEmpty {
            if let d = drafts.first { root.entries.append(contentsOf: d.entries) }
        } else if batchLimit == 1, let d = drafts.first {
            root.set(target[...], .node(d))
        } else {
            root.set(target[...], .list(drafts.map(Draft.Value.node)))
        }
        switch mapping.syntax {
        case .json: return JSONOutput.bytes(root)
        case .xml: return try xmlBytes(root)
        }
    }
}

/// Writes a draft as JSON: members in the order written, two-space indentation, UTF-8.
enum JSONOutput {
    static func bytes(_ root: Draft) -> [UInt8] {
        var out = ""
        write(.node(root), indent: 0, to: &out)
        out += "\n"
        return Array(out.utf8)
    }

    private static func write(_ value: Draft.Value, indent: Int, to out: inout String) {
        let pad = String(repeating: "  ", count: indent + 1)
        let end = String(repeating: "  ", count: indent)
        switch value {
        case .scalar(let s):
            switch s.kind {
            case .string: out += quoted(s.text)
            case .number, .boolean: out += s.text
            }
        case .node(let d):
            let members = d.entries.filter { $0.key != Draft.textKey }
            if members.isEmpty {
                out += "{}"
                return
            }
            out += "{\n"
            for (i, m) in members.enumerated() {
                out += pad + quoted(m.key) + ": "
                write(m.value, indent: indent + 1, to: &out)
                out += i == members.count - 1 ? "\n" : ",\n"
            }
            out += end + "}"
        case .list(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                write(item, indent: indent + 1, to: &out)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += end + "]"
        }
    }

    /// A JSON string as the canonical model writes one (RFC 8785 escaping: `"`, `\` and control
    /// characters escaped, everything else as UTF-8).
    static func quoted(_ s: String) -> String {
        String(decoding: JSONValue.string(s).canonicalBytes(), as: UTF8.self)
    }
}

import GatewayModel
import GatewayXML

/// A raw value read from a source document, before any transform.
enum RawValue: Sendable {
    case absent
    case text(String)
    /// A JSON number, as its decimal text.
    case number(String)
    /// A JSON object or array where a single value was expected.
    case compound
}

/// A node of a source document from which a mapping reads values: an XML element or a JSON value.
/// The engine is generic over it so that each syntax gets a specialised, allocation-light path.
protocol SourceNode {
    /// The value at a path relative to this node.
    func scalar(_ path: SourcePath) -> RawValue
    /// Every node at a path relative to this node (repeated groups, record lists).
    func nodes(_ path: SourcePath) -> [Self]
    /// Where this node stands in the document (an XPath of local names, or a JSON Pointer).
    var location: String { get }
    /// Where the value at `path` stands, or would stand when absent.
    func location(of path: SourcePath) -> String
    /// Where a repeated group stands as a whole (XML: the path as written, without `[n]`).
    func location(ofGroup path: SourcePath) -> String
}

extension RawValue {
    /// formats.md: trim, and an empty or blank value is the same as an absent one.
    var trimmed: Value {
        switch self {
        case .absent, .compound: return .absent
        case .number(let n): return .number(n)
        case .text(let s):
            let t = Text.trim(s)
            return t.isEmpty ? .absent : .text(t)
        }
    }
}

// MARK: - JSON

struct JSONSourceNode: SourceNode {
    let value: JSONValue
    let pointer: String

    private func resolve(_ tokens: [String]) -> JSONValue? {
        var current = value
        for token in tokens {
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let i = Int(token), i >= 0, i < a.count else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    private static func tokens(_ path: SourcePath) -> [String] {
        guard case .json(let tokens) = path.compiled else { preconditionFailure("an XML path on a JSON document") }
        return tokens
    }

    func scalar(_ path: SourcePath) -> RawValue {
        guard let v = resolve(Self.tokens(path)) else { return .absent }
        switch v {
        case .null: return .absent
        case .string(let s): return .text(s)
        case .number(let n): return .number(n.text)
        case .bool(let b): return .text(b ? "true" : "false")
        case .array, .object: return .compound
        }
    }

    func nodes(_ path: SourcePath) -> [JSONSourceNode] {
        let tokens = Self.tokens(path)
        guard let v = resolve(tokens) else { return [] }
        let base = pointer + JSONSourceNode.pointerSuffix(tokens)
        switch v {
        case .null: return []
        case .array(let elements):
            return elements.enumerated().map { JSONSourceNode(value: $0.element, pointer: base + "/" + String($0.offset)) }
        default:
            return [JSONSourceNode(value: v, pointer: base)]
        }
    }

    var location: String { pointer.isEmpty ? "/" : pointer }

    func location(of path: SourcePath) -> String {
        let p = pointer + JSONSourceNode.pointerSuffix(Self.tokens(path))
        return p.isEmpty ? "/" : p
    }

    func location(ofGroup path: SourcePath) -> String { location(of: path) }

    static func pointerSuffix(_ tokens: [String]) -> String {
        var s = ""
        for t in tokens {
            s += "/"
            s += t.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
        }
        return s
    }

    /// Parses an RFC 6901 pointer into tokens; nil when it is malformed.
    static func parsePointer(_ text: String) -> [String]? {
        if text.isEmpty || text == "." { return [] }
        guard text.hasPrefix("/") else { return nil }
        var tokens: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var it = raw.makeIterator()
            while let c = it.next() {
                if c == "~" {
                    switch it.next() {
                    case "0": token.append("~")
                    case "1": token.append("/")
                    default: return nil
                    }
                } else {
                    token.append(c)
                }
            }
            tokens.append(token)
        }
        return tokens
    }
}

// MARK: - XML

/// An XPath compiled for a mapping, with the text used to name absent values.
///
/// A class: every rule reads its source path for every record, and a `SourcePath` is copied out
/// of its rule each time; as a struct this one copy retained and released the expression, the
/// namespace table, the compiled plan and the suffix (issue 18), as a class it is one reference.
final class XMLSourcePath: Sendable {
    let path: XMLPath
    /// The path with namespace prefixes removed, appended to a node's location for absent values.
    let locationSuffix: String
    let isSelf: Bool

    init(path: XMLPath, locationSuffix: String, isSelf: Bool) {
        self.path = path
        self.locationSuffix = locationSuffix
        self.isSelf = isSelf
    }
}

struct XMLSourceNode: SourceNode {
    let node: XMLNode

    private static func compiled(_ path: SourcePath) -> XMLSourcePath {
        guard case .xml(let p) = path.compiled else { preconditionFailure("a JSON path on an XML document") }
        return p
    }

    func scalar(_ path: SourcePath) -> RawValue {
        let p = Self.compiled(path)
        if p.isSelf { return .text(node.text) }
        guard let s = p.path.string(from: node) else { return .absent }
        return .text(s)
    }

    func nodes(_ path: SourcePath) -> [XMLSourceNode] {
        let p = Self.compiled(path)
        if p.isSelf { return [self] }
        return p.path.nodes(from: node).map(XMLSourceNode.init(node:))
    }

    var location: String { node.locationPath }

    func location(of path: SourcePath) -> String {
        let p = Self.compiled(path)
        if p.isSelf { return node.locationPath }
        if let found = p.path.firstNode(from: node) { return found.locationPath }
        return node.locationPath + "/" + p.locationSuffix
    }

    func location(ofGroup path: SourcePath) -> String {
        let p = Self.compiled(path)
        return p.isSelf ? node.locationPath : node.locationPath + "/" + p.locationSuffix
    }
}

import CLibXML2

/// A path compiled once (when a mapping loads) and evaluated per record, from a context node.
///
/// Accepts any XPath 1.0 expression, with namespace bindings `[prefix: uri]` for prefixed names.
/// Simple relative location paths — child steps and an optional final attribute step, such as
/// `hphm`, `head/jkid`, `@id`, `Party/@kind`, `.`, `p:Case/p:DocNo` — are evaluated directly on
/// the tree (no libxml2 XPath machinery). Everything else goes through `xmlXPathCompile` and
/// `xmlXPathCompiledEval`.
///
/// **Namespaces in simple paths**: a step without prefix matches the local name in *any*
/// namespace (or none), so mappings of default-namespace documents stay readable (`Case/DocNo`
/// in `<CaseList xmlns="urn:…">`); a prefixed step must match the bound namespace exactly.
/// In full XPath expressions the XPath 1.0 rule applies (an unprefixed name matches elements in
/// no namespace): use prefixes there.
///
/// Safe to evaluate from several threads at once: full XPath expressions use a small pool of
/// libxml2 XPath contexts (each with its own compiled expression), one per concurrent caller.
public struct XMLPath: Sendable, CustomStringConvertible {
    public let expression: String
    public let namespaces: [String: String]
    let plan: Plan

    enum Plan: Sendable {
        case simple(SimplePath)
        case xpath(CompiledXPath)
    }

    /// Compiles `expression`; throws `XMLError` (kind `.invalidPath`, libxml2's message) when it
    /// does not compile or uses a prefix that `namespaces` does not bind.
    public init(_ expression: String, namespaces: [String: String] = [:]) throws(XMLError) {
        LibXML.prepareThread()
        self.expression = expression
        self.namespaces = namespaces
        if let simple = try SimplePath(expression, namespaces: namespaces) {
            plan = .simple(simple)
        } else {
            plan = .xpath(try CompiledXPath(expression, namespaces: namespaces))
        }
    }

    public var description: String { expression }

    /// True when the path is evaluated without libxml2's XPath engine.
    public var isSimple: Bool {
        if case .simple = plan { return true }
        return false
    }

    /// All nodes selected from `node`, in document order (empty when the expression yields a
    /// string, number or boolean).
    public func nodes(from node: XMLNode) -> [XMLNode] {
        switch plan {
        case .simple(let path):
            var found: [xmlNodePtr] = []
            path.collect(node.pointer, step: 0, into: &found)
            return found.map { XMLNode(document: node.document, pointer: $0) }
        case .xpath(let xpath):
            return xpath.evaluate(node) { object in
                CompiledXPath.nodes(object).map { XMLNode(document: node.document, pointer: $0) }
            }
        }
    }

    /// The first node selected from `node`, in document order.
    public func firstNode(from node: XMLNode) -> XMLNode? {
        switch plan {
        case .simple(let path):
            return path.first(node.pointer, step: 0).map { XMLNode(document: node.document, pointer: $0) }
        case .xpath(let xpath):
            return xpath.evaluate(node) { object in
                CompiledXPath.nodes(object).first.map { XMLNode(document: node.document, pointer: $0) }
            }
        }
    }

    /// The text of the first selected node (an element's text, an attribute's value), or the
    /// string value of an expression such as `string(...)`, `concat(...)`, `count(...)`; nil when
    /// nothing is selected.
    public func string(from node: XMLNode) -> String? {
        switch plan {
        case .simple(let path):
            guard let found = path.first(node.pointer, step: 0) else { return nil }
            return Self.text(of: found)
        case .xpath(let xpath):
            return xpath.evaluate(node) { object -> String? in
                guard let object else { return nil }
                switch object.pointee.type {
                case XPATH_NODESET, XPATH_XSLT_TREE:
                    return CompiledXPath.nodes(object).first.map(Self.text(of:))
                case XPATH_STRING:
                    return object.pointee.stringval.map { String(cString: $0) } ?? ""
                default:
                    guard let s = xmlXPathCastToString(object) else { return nil }
                    defer { xgw_xmlFree(s) }
                    return String(cString: s)
                }
            }
        }
    }

    static func text(of node: xmlNodePtr) -> String {
        if let content = XMLNode.singleTextContent(node) { return String(cString: content) }
        guard let content = xmlNodeGetContent(node) else { return "" }
        defer { xgw_xmlFree(content) }
        return String(cString: content)
    }
}

/// A relative path of child steps with an optional final attribute step, evaluated by walking
/// the tree. Names are kept as C strings compared byte by byte (namespace URIs with `xmlStrEqual`).
final class SimplePath: @unchecked Sendable {
    struct Step {
        let name: UnsafeMutablePointer<xmlChar>
        /// Bytes of `name` before its NUL.
        let length: Int
        /// nil: any namespace.
        let namespace: UnsafeMutablePointer<xmlChar>?

        init(_ name: String, namespace: String?) {
            self.name = xmlCharStrdup(name)
            length = name.utf8.count
            self.namespace = namespace.map { xmlCharStrdup($0) }
        }
    }

    private let steps: [Step]
    private let attribute: Step?

    /// nil when `expression` is not a simple path (then it goes to libxml2's XPath engine).
    init?(_ expression: String, namespaces: [String: String]) throws(XMLError) {
        let trimmed = LibXML.trimmed(expression)
        guard !trimmed.isEmpty else { throw XMLError(.invalidPath, message: "empty path") }
        var elementSteps: [(String, String?)] = []
        var attributeStep: (String, String?)?
        let segments = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        for (i, segment) in segments.enumerated() {
            if segment == "." { continue }
            let isAttribute = segment.hasPrefix("@")
            if isAttribute && i != segments.count - 1 { return nil }
            guard let (prefix, local) = Self.qualifiedName(isAttribute ? segment.dropFirst() : segment) else {
                return nil
            }
            var uri: String?
            if let prefix {
                if prefix == "xml" {
                    uri = "http://www.w3.org/XML/1998/namespace"
                } else if let bound = namespaces[prefix] {
                    uri = bound
                } else {
                    throw XMLError(.invalidPath, message: "undefined namespace prefix '\(prefix)' in path \(trimmed)")
                }
            }
            if isAttribute { attributeStep = (local, uri) } else { elementSteps.append((local, uri)) }
        }
        steps = elementSteps.map { Step($0.0, namespace: $0.1) }
        attribute = attributeStep.map { Step($0.0, namespace: $0.1) }
    }

    deinit {
        for step in steps + (attribute.map { [$0] } ?? []) {
            xgw_xmlFree(step.name)
            if let ns = step.namespace { xgw_xmlFree(ns) }
        }
    }

    /// `prefix:local` or `local` made of NCName characters; nil for anything else (`*`, `..`,
    /// functions, predicates, axes...).
    private static func qualifiedName(_ s: Substring) -> (String?, String)? {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy(isNCName) else { return nil }
        return parts.count == 2 ? (String(parts[0]), String(parts[1])) : (nil, String(parts[0]))
    }

    private static func isNCName(_ s: Substring) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        func start(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c.value > 0x7F
        }
        guard start(first) else { return false }
        return s.unicodeScalars.allSatisfy { c in start(c) || (c >= "0" && c <= "9") || c == "-" || c == "." }
    }

    @inline(__always)
    private static func matches(_ node: xmlNodePtr, _ step: Step) -> Bool {
        // A record's fields are looked up among all its children, one by one: compare the names
        // here, up to the first difference (most siblings differ in their first byte, many Sichuan
        // names share two: wfsj, wfdz, wfxw), rather than call xmlStrEqual (issue 18). Comparing
        // the NUL at `length` too stops a longer name; a shorter one differs at its own NUL.
        guard let name = node.pointee.name else { return false }
        var k = 0
        while k <= step.length {
            guard name[k] == step.name[k] else { return false }
            k += 1
        }
        guard let ns = step.namespace else { return true }
        guard let href = node.pointee.ns?.pointee.href else { return false }
        return xmlStrEqual(href, ns) != 0
    }

    private func end(_ node: xmlNodePtr) -> xmlNodePtr? {
        guard let attribute else { return node }
        guard node.pointee.type == XML_ELEMENT_NODE else { return nil }
        var attr = node.pointee.properties
        while let a = attr {
            let asNode = UnsafeMutableRawPointer(a).assumingMemoryBound(to: xmlNode.self)
            if Self.matches(asNode, attribute) { return asNode }
            attr = a.pointee.next
        }
        return nil
    }

    func first(_ node: xmlNodePtr, step: Int) -> xmlNodePtr? {
        if step == steps.count { return end(node) }
        let s = steps[step]
        var child = node.pointee.type == XML_ELEMENT_NODE ? node.pointee.children : nil
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE, Self.matches(c, s), let found = first(c, step: step + 1) {
                return found
            }
            child = c.pointee.next
        }
        return nil
    }

    func collect(_ node: xmlNodePtr, step: Int, into found: inout [xmlNodePtr]) {
        if step == steps.count {
            if let n = end(node) { found.append(n) }
            return
        }
        let s = steps[step]
        var child = node.pointee.type == XML_ELEMENT_NODE ? node.pointee.children : nil
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE, Self.matches(c, s) { collect(c, step: step + 1, into: &found) }
            child = c.pointee.next
        }
    }
}

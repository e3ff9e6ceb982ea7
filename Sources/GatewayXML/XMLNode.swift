import CLibXML2

/// A node of an `XMLDocument`: an element, or an attribute or text node returned by an
/// `XMLPath`. A small value holding the libxml2 node and keeping its document alive.
public struct XMLNode: @unchecked Sendable, Hashable {
    public let document: XMLDocument
    let pointer: xmlNodePtr

    init(document: XMLDocument, pointer: xmlNodePtr) {
        self.document = document
        self.pointer = pointer
    }

    public static func == (a: XMLNode, b: XMLNode) -> Bool { a.pointer == b.pointer }
    public func hash(into hasher: inout Hasher) { hasher.combine(pointer) }

    public var isElement: Bool { pointer.pointee.type == XML_ELEMENT_NODE }
    public var isAttribute: Bool { pointer.pointee.type == XML_ATTRIBUTE_NODE }
    public var isText: Bool {
        pointer.pointee.type == XML_TEXT_NODE || pointer.pointee.type == XML_CDATA_SECTION_NODE
    }

    /// The local name (without prefix) of an element or attribute; `#text` for text nodes.
    public var localName: String {
        if isText { return "#text" }
        return pointer.pointee.name.map { String(cString: $0) } ?? ""
    }

    /// The namespace URI of an element or attribute, nil when it has none.
    public var namespaceURI: String? {
        guard !isText, let ns = pointer.pointee.ns, let href = ns.pointee.href else { return nil }
        return String(cString: href)
    }

    /// 1-based line where the node starts in the parsed document.
    public var line: Int { Int(xmlGetLineNo(pointer)) }

    /// The parent element, nil for the root element.
    public var parent: XMLNode? {
        guard let p = pointer.pointee.parent, p.pointee.type == XML_ELEMENT_NODE else { return nil }
        return XMLNode(document: document, pointer: p)
    }

    /// The value of an attribute, by local name. `namespace` nil matches the attribute in any
    /// namespace (or none); otherwise the namespace URI must be equal.
    public func attribute(_ localName: String, namespace: String? = nil) -> String? {
        guard isElement else { return nil }
        return localName.withCString { name in
            let name = UnsafeRawPointer(name).assumingMemoryBound(to: xmlChar.self)
            guard let namespace else {
                return Self.attribute(of: pointer, name: name, namespace: nil).map(Self.attributeValue)
            }
            return namespace.withCString { ns in
                Self.attribute(of: pointer, name: name,
                               namespace: UnsafeRawPointer(ns).assumingMemoryBound(to: xmlChar.self))
                    .map(Self.attributeValue)
            }
        }
    }

    /// The text of the node: for an element, all text and CDATA content of its descendants in
    /// document order (`xmlNodeGetContent`); for an attribute, its value.
    public var text: String {
        if let content = Self.singleTextContent(pointer) { return String(cString: content) }
        guard let content = xmlNodeGetContent(pointer) else { return "" }
        defer { xgw_xmlFree(content) }
        return String(cString: content)
    }

    /// The child elements, in document order.
    public var childElements: [XMLNode] {
        var result: [XMLNode] = []
        var child = pointer.pointee.type == XML_ELEMENT_NODE ? pointer.pointee.children : nil
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE { result.append(XMLNode(document: document, pointer: c)) }
            child = c.pointee.next
        }
        return result
    }

    /// The first child element with this local name. `namespace` nil matches any namespace.
    public func firstChild(named localName: String, namespace: String? = nil) -> XMLNode? {
        guard isElement else { return nil }
        return localName.withCString { name -> XMLNode? in
            let name = UnsafeRawPointer(name).assumingMemoryBound(to: xmlChar.self)
            var child = pointer.pointee.children
            while let c = child {
                if c.pointee.type == XML_ELEMENT_NODE, xmlStrEqual(c.pointee.name, name) != 0,
                   namespace == nil || Self.namespace(of: c) == namespace {
                    return XMLNode(document: document, pointer: c)
                }
                child = c.pointee.next
            }
            return nil
        }
    }

    // MARK: - Raw helpers shared with XMLPath

    static func namespace(of node: xmlNodePtr) -> String? {
        node.pointee.ns?.pointee.href.map { String(cString: $0) }
    }

    /// The attribute `name` of `element`; `namespace` nil matches any namespace.
    @inline(__always)
    static func attribute(
        of element: xmlNodePtr, name: UnsafePointer<xmlChar>, namespace: UnsafePointer<xmlChar>?
    ) -> xmlAttrPtr? {
        var attr = element.pointee.properties
        while let a = attr {
            if xmlStrEqual(a.pointee.name, name) != 0 {
                if let namespace {
                    if let href = a.pointee.ns?.pointee.href, xmlStrEqual(href, namespace) != 0 { return a }
                } else {
                    return a
                }
            }
            attr = a.pointee.next
        }
        return nil
    }

    static func attributeValue(_ attr: xmlAttrPtr) -> String {
        let node = UnsafeMutableRawPointer(attr).assumingMemoryBound(to: xmlNode.self)
        if let content = singleTextContent(node) { return String(cString: content) }
        guard let value = xmlNodeGetContent(node) else { return "" }
        defer { xgw_xmlFree(value) }
        return String(cString: value)
    }

    /// The content of a text node, or of the only text child of an element or attribute (the
    /// common case, read without copying through libxml2); nil when it takes more work.
    @inline(__always)
    static func singleTextContent(_ node: xmlNodePtr) -> UnsafePointer<xmlChar>? {
        let type = node.pointee.type
        if type == XML_TEXT_NODE || type == XML_CDATA_SECTION_NODE {
            return node.pointee.content.map { UnsafePointer($0) }
        }
        guard type == XML_ELEMENT_NODE || type == XML_ATTRIBUTE_NODE else { return nil }
        guard let child = node.pointee.children else { return ("" as StaticString).utf8Start }
        guard child.pointee.next == nil,
              child.pointee.type == XML_TEXT_NODE || child.pointee.type == XML_CDATA_SECTION_NODE,
              let content = child.pointee.content else { return nil }
        return UnsafePointer(content)
    }
}

import CLibXML2

/// An element to write: its local name, attributes in order, and children (elements, text, CDATA).
public struct XMLOutputElement: Sendable, Hashable {
    public enum Child: Sendable, Hashable {
        case element(XMLOutputElement)
        case text(String)
        /// A CDATA section (libxml2 splits one whose text holds `]]>`).
        case cdata(String)
    }

    public var name: String
    public var attributes: [(name: String, value: String)]
    public var children: [Child]

    public init(name: String, attributes: [(name: String, value: String)] = [], children: [Child] = []) {
        self.name = name
        self.attributes = attributes
        self.children = children
    }

    public static func == (a: XMLOutputElement, b: XMLOutputElement) -> Bool {
        a.name == b.name && a.children == b.children && a.attributes.map(\.name) == b.attributes.map(\.name)
            && a.attributes.map(\.value) == b.attributes.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(children)
        for a in attributes {
            hasher.combine(a.name)
            hasher.combine(a.value)
        }
    }
}

/// Writes XML documents through libxml2's tree API and serialiser: escaping, CDATA and the
/// output encoding (GBK, GB18030, UTF-8: whatever iconv knows) are libxml2's, and a character the
/// encoding cannot hold is written as a character reference (`&#x20000;`), so nothing is lost.
public enum XMLWriter {
    /// The serialised document, with an XML declaration naming `encoding`. Every element is in
    /// `namespace` (declared as the default namespace on the root) when one is given.
    public static func document(_ root: XMLOutputElement, namespace: String?, encoding: String, indent: Bool = true) throws(XMLError) -> [UInt8] {
        LibXML.prepareThread()
        guard let doc = xmlNewDoc("1.0") else { throw XMLError(.malformed, message: "cannot create an XML document") }
        defer { xmlFreeDoc(doc) }
        guard let rootNode = xmlNewDocNode(doc, nil, root.name, nil) else {
            throw XMLError(.malformed, message: "cannot create the element \(root.name)")
        }
        xmlDocSetRootElement(doc, rootNode)
        var ns: xmlNsPtr?
        if let namespace {
            ns = xmlNewNs(rootNode, namespace, nil)
            xmlSetNs(rootNode, ns)
        }
        try fill(rootNode, with: root, doc: doc, ns: ns)
        var memory: UnsafeMutablePointer<xmlChar>?
        var size: Int32 = 0
        xmlDocDumpFormatMemoryEnc(doc, &memory, &size, encoding, indent ? 1 : 0)
        guard let memory, size >= 0 else {
            throw XMLError(.malformed, message: "cannot write the document in encoding \(encoding)")
        }
        defer { xgw_xmlFree(memory) }
        return Array(UnsafeBufferPointer(start: memory, count: Int(size)))
    }

    private static func fill(_ node: xmlNodePtr, with element: XMLOutputElement, doc: xmlDocPtr, ns: xmlNsPtr?) throws(XMLError) {
        for attribute in element.attributes {
            guard xmlNewProp(node, attribute.name, attribute.value) != nil else {
                throw XMLError(.malformed, message: "cannot write the attribute \(attribute.name)")
            }
        }
        for child in element.children {
            let made: xmlNodePtr?
            switch child {
            case .element(let e):
                made = xmlNewDocNode(doc, ns, e.name, nil)
                if let made { try fill(made, with: e, doc: doc, ns: ns) }
            case .text(let text):
                made = xmlNewDocText(doc, text)
            case .cdata(let text):
                let bytes = Array(text.utf8)
                made = bytes.withUnsafeBufferPointer { xmlNewCDataBlock(doc, $0.baseAddress, Int32($0.count)) }
            }
            guard let made else { throw XMLError(.malformed, message: "cannot write a child of \(element.name)") }
            xmlAddChild(node, made)
        }
    }
}

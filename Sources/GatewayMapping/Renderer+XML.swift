import GatewayModel
import GatewayXML

extension Renderer {
    /// The document through libxml2: the root element of `detect.root` in `detect.namespace`,
    /// written in `render.encoding`.
    func xmlBytes(_ root: Draft) throws(RecordError) -> [UInt8] {
        let element = Self.element(mapping.detect.root ?? "root", root)
        do {
            return try XMLWriter.document(element, namespace: mapping.detect.namespace, encoding: mapping.render.encoding)
        } catch {
            throw RecordError(.unrenderable, message: "\(mapping.id): \(error.message)")
        }
    }

    static func element(_ name: String, _ d: Draft) -> XMLOutputElement {
        var e = XMLOutputElement(name: name)
        for (key, value) in d.entries {
            switch value {
            case .scalar(let s):
                if key.hasPrefix("@") {
                    e.attributes.append((String(key.dropFirst()), s.text))
                } else if key == Draft.textKey {
                    e.children.append(s.cdata ? .cdata(s.text) : .text(s.text))
                } else {
                    e.children.append(.element(XMLOutputElement(name: key, children: [s.cdata ? .cdata(s.text) : .text(s.text)])))
                }
            case .node(let child):
                e.children.append(.element(element(key, child)))
            case .list(let items):
                for item in items {
                    switch item {
                    case .scalar(let s):
                        e.children.append(.element(XMLOutputElement(name: key, children: [s.cdata ? .cdata(s.text) : .text(s.text)])))
                    case .node(let child):
                        e.children.append(.element(element(key, child)))
                    case .list:
                        continue
                    }
                }
            }
        }
        return e
    }
}

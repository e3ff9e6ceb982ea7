import CLibXML2

extension XMLNode {
    /// Where the node stands, as shown to users in error messages and expected in fixtures:
    /// `/root/body/vio[2]/hphm`, `/TB/@ID`.
    ///
    /// Steps are local names (never prefixes or `*`). A step gets `[n]` (1-based) only when its
    /// parent has more than one child element with that local name (the `xmlGetNodePath`
    /// convention). Attributes are `/@name`, text nodes `/text()`. For a record produced by
    /// `XMLRecordStream`, the path starts with the record's place in the streamed document.
    public var locationPath: String {
        var steps: [String] = []
        var current: xmlNodePtr? = pointer
        switch pointer.pointee.type {
        case XML_ATTRIBUTE_NODE:
            steps.append("@" + localName)
            current = pointer.pointee.parent
        case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
            steps.append("text()")
            current = pointer.pointee.parent
        default:
            break
        }
        var prefix = ""
        while let node = current, node.pointee.type == XML_ELEMENT_NODE {
            let parent = node.pointee.parent
            if parent == nil || parent?.pointee.type != XML_ELEMENT_NODE, let base = document.rootLocationPath {
                prefix = base
                break
            }
            steps.append(step(node))
            current = parent
        }
        var path = prefix
        for step in steps.reversed() {
            path += "/"
            path += step
        }
        return path.isEmpty ? "/" : path
    }

    /// `name` or `name[n]` for an element, following the rule of `locationPath`.
    func step(_ node: xmlNodePtr) -> String {
        let name = node.pointee.name
        let local = name.map { String(cString: $0) } ?? ""
        // Few siblings: look around. Many: ask the document's index (built once per parent).
        var position = 1
        var hops = 0
        var sibling = node.pointee.prev
        while let s = sibling, hops < 64 {
            if s.pointee.type == XML_ELEMENT_NODE, xmlStrEqual(s.pointee.name, name) != 0 { position += 1 }
            sibling = s.pointee.prev
            hops += 1
        }
        if sibling == nil {
            if position > 1 { return "\(local)[\(position)]" }
            sibling = node.pointee.next
            hops = 0
            while let s = sibling, hops < 64 {
                if s.pointee.type == XML_ELEMENT_NODE, xmlStrEqual(s.pointee.name, name) != 0 { return "\(local)[1]" }
                sibling = s.pointee.next
                hops += 1
            }
            if sibling == nil { return local }
        }
        guard let parent = node.pointee.parent else { return local }
        let index = document.siblingIndex(of: parent)
        guard (index.count[local] ?? 0) > 1, let n = index.position[node] else { return local }
        return "\(local)[\(n)]"
    }
}

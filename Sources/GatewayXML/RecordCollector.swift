import CLibXML2

/// The SAX-side half of `XMLRecordStream`: recognises record elements as they start, detaches each
/// completed record into its own document, computes its location path, and enforces the size
/// limits. Lives on the parsing thread only.
final class RecordCollector: ElementObserver {
    /// Steps from the root element; nil matches any name (the root, for relative paths).
    private let paths: [[UnsafeMutablePointer<xmlChar>?]]
    private let maxBytes: Int

    /// An open element outside records.
    private final class Frame {
        /// Location path of the element ("" when no record can lie below it).
        let path: String
        /// Record paths that can still match below this element.
        let alive: [Int]
        /// How many child elements of each local name started so far (only when `alive`).
        var childCounts: [String: Int] = [:]
        /// The first record child of each name, held until its index is known.
        var held: [String: Entry] = [:]
        /// Where the element started, and how many bytes were already credited then (records and
        /// freed content), so that freeing it credits exactly what was not credited yet.
        let start: Int
        let creditedAtStart: Int

        init(path: String, alive: [Int], start: Int, creditedAtStart: Int) {
            self.path = path
            self.alive = alive
            self.start = start
            self.creditedAtStart = creditedAtStart
        }
    }

    /// A completed record waiting to be handed out.
    private final class Entry {
        let doc: xmlDocPtr
        let pathIndex: Int
        var locationPath: String?

        init(doc: xmlDocPtr, pathIndex: Int, locationPath: String?) {
            self.doc = doc
            self.pathIndex = pathIndex
            self.locationPath = locationPath
        }
    }

    private var frames: [Frame] = []
    private var queue: [Entry] = []
    private var queueHead = 0

    // The record being parsed.
    private var recordDepth: Int?
    private var recordStart = 0
    private var recordPathIndex = 0
    private var recordName = ""
    private var recordPosition = 1
    /// Bytes that no longer count against the limit outside records: records (handed out) and
    /// content between them that has been freed.
    private var bytesInRecords = 0
    /// Where the last record or freed element ended, and where the last element outside records
    /// started: the text between two sibling records (freed by `detach`) is credited when no
    /// element stands between them.
    private var lastFreedEnd = 0
    private var lastFrameStart = -1

    private var lines: [UInt16] = []

    private(set) var header: XMLDocument?
    private(set) var headerDecided = false

    init(recordPaths: [String], maxBytes: Int) throws(XMLError) {
        guard !recordPaths.isEmpty else { throw XMLError(.invalidPath, message: "no record path") }
        var compiled: [[UnsafeMutablePointer<xmlChar>?]] = []
        for path in recordPaths {
            var text = LibXML.trimmed(path)
            var steps: [UnsafeMutablePointer<xmlChar>?] = []
            if text.hasPrefix("/") {
                text.removeFirst()
            } else {
                steps.append(nil) // relative: the root, whatever its name
            }
            for step in text.split(separator: "/", omittingEmptySubsequences: false) where step != "." {
                let name = step.split(separator: ":").last.map(String.init) ?? ""
                guard !name.isEmpty, !name.contains(where: { "*[]()@ ".contains($0) }) else {
                    for s in compiled.joined() + steps { if let s { xgw_xmlFree(s) } }
                    throw XMLError(.invalidPath, message: "record path \(path) is not a path of element names")
                }
                steps.append(xmlCharStrdup(name))
            }
            if steps.isEmpty {
                for s in compiled.joined() { if let s { xgw_xmlFree(s) } }
                throw XMLError(.invalidPath, message: "record path \(path) names no element")
            }
            compiled.append(steps)
        }
        paths = compiled
        self.maxBytes = maxBytes
    }

    deinit {
        for step in paths.joined() { if let step { xgw_xmlFree(step) } }
    }

    // MARK: - Consumer side

    var hasReady: Bool { queueHead < queue.count && queue[queueHead].locationPath != nil }

    func popReady() -> (XMLDocument, Int)? {
        guard queueHead < queue.count, let path = queue[queueHead].locationPath else { return nil }
        let entry = queue[queueHead]
        queueHead += 1
        if queueHead > 64 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return (XMLDocument(pointer: entry.doc, rootLocationPath: path), entry.pathIndex)
    }

    /// End of input: held records get their final path (no index: no sibling of their name
    /// followed, or the document broke off).
    func finish() {
        for frame in frames.reversed() { release(frame) }
        frames.removeAll()
    }

    func takeHeader(_ doc: xmlDocPtr) {
        header = XMLDocument(pointer: doc)
        headerDecided = true
    }

    func discardAll() {
        for entry in queue[queueHead...] { xmlFreeDoc(entry.doc) }
        queue.removeAll()
        queueHead = 0
    }

    // MARK: - Parser side

    private func position(_ ctxt: xmlParserCtxtPtr) -> Int {
        guard let input = ctxt.pointee.input, let base = input.pointee.base, let cur = input.pointee.cur else { return 0 }
        return Int(input.pointee.consumed) + (cur - base)
    }

    private func reject(_ ctxt: xmlParserCtxtPtr, _ message: String) -> Bool {
        ParseGuard.reject(UnsafeMutableRawPointer(ctxt), .tooLarge, message)
        return false
    }

    func willStartElement(
        _ ctxt: xmlParserCtxtPtr, _ localName: UnsafePointer<xmlChar>?, _ uri: UnsafePointer<xmlChar>?, depth: Int
    ) -> Bool {
        let position = position(ctxt)
        if recordDepth != nil {
            if position - recordStart > maxBytes { return reject(ctxt, "a record is larger than \(maxBytes) bytes") }
            return true
        }
        if position - bytesInRecords > maxBytes {
            return reject(ctxt, "more than \(maxBytes) bytes outside records")
        }
        guard let localName else { return true }
        let parent = depth > 1 ? frames[depth - 2] : nil
        let candidates = parent?.alive ?? Array(paths.indices)
        var alive: [Int] = []
        var matched: Int?
        for p in candidates {
            let steps = paths[p]
            guard steps.count >= depth else { continue }
            if let step = steps[depth - 1], xmlStrEqual(step, localName) == 0 { continue }
            if steps.count == depth {
                if matched == nil { matched = p }
            } else {
                alive.append(p)
            }
        }
        var name = ""
        var n = 1
        if let parent, !parent.alive.isEmpty {
            name = String(cString: localName)
            n = (parent.childCounts[name] ?? 0) + 1
            parent.childCounts[name] = n
        } else if depth == 1 {
            name = String(cString: localName)
        }
        if let matched {
            if lastFreedEnd > 0 && lastFrameStart < lastFreedEnd { bytesInRecords += position - lastFreedEnd }
            if !headerDecided { snapshotHeader(ctxt, recordIsRoot: depth == 1) }
            if n == 2, let parent, let first = parent.held.removeValue(forKey: name) {
                first.locationPath = parent.path + "/" + name + "[1]"
            }
            recordDepth = depth
            recordStart = position
            recordPathIndex = matched
            recordName = name
            recordPosition = n
            return true
        }
        let path: String
        if depth == 1 {
            path = "/" + name
        } else if let parent, !alive.isEmpty {
            path = parent.path + "/" + (n >= 2 ? "\(name)[\(n)]" : name)
        } else {
            path = ""
        }
        frames.append(Frame(path: path, alive: alive, start: position, creditedAtStart: bytesInRecords))
        lastFrameStart = position
        return true
    }

    func didStartElement(_ ctxt: xmlParserCtxtPtr, depth: Int) {}

    func didEndElement(_ ctxt: xmlParserCtxtPtr, _ node: xmlNodePtr, depth: Int) {
        if let recordDepth {
            guard depth == recordDepth else { return }
            let position = position(ctxt)
            if position - recordStart > maxBytes {
                _ = reject(ctxt, "a record is larger than \(maxBytes) bytes")
                return
            }
            bytesInRecords += position - recordStart
            lastFreedEnd = position
            self.recordDepth = nil
            detach(ctxt, node, depth: depth)
            return
        }
        if let frame = frames.popLast() {
            release(frame)
            // Once the header is captured, a completed element outside records is not needed any
            // more: free it, so that content between records does not pile up in a long batch.
            if headerDecided && depth > 1 {
                let position = position(ctxt)
                bytesInRecords += max(0, (position - frame.start) - (bytesInRecords - frame.creditedAtStart))
                lastFreedEnd = position
                Self.unlink(node)
                xmlFreeNode(node)
            }
        }
    }

    /// Held records of a frame that ends have no same-named sibling: no index.
    private func release(_ frame: Frame) {
        for (name, entry) in frame.held { entry.locationPath = frame.path + "/" + name }
        frame.held.removeAll()
    }

    private func snapshotHeader(_ ctxt: xmlParserCtxtPtr, recordIsRoot: Bool) {
        headerDecided = true
        guard !recordIsRoot, let doc = ctxt.pointee.myDoc, let root = xmlDocGetRootElement(doc) else { return }
        header = copyRoot(root)
    }

    /// Moves the completed record into a document of its own and frees the text around it.
    /// Unlinks a completed element from its parent, and frees the parent's other non-element
    /// children: the SAX tree builder appends to a trailing text node using its own bookkeeping,
    /// so none must be left behind for it.
    private static func unlink(_ node: xmlNodePtr) {
        let parent = node.pointee.parent
        xmlUnlinkNode(node)
        if let parent, parent.pointee.type == XML_ELEMENT_NODE {
            var child = parent.pointee.children
            while let c = child {
                child = c.pointee.next
                if c.pointee.type != XML_ELEMENT_NODE {
                    xmlUnlinkNode(c)
                    xmlFreeNode(c)
                }
            }
        }
    }

    private func detach(_ ctxt: xmlParserCtxtPtr, _ node: xmlNodePtr, depth: Int) {
        Self.unlink(node)
        guard let doc = xmlNewDoc("1.0") else {
            xmlFreeNode(node)
            return
        }
        // The record's document shares the parser's dictionary (reference counted), so adoption
        // leaves the interned names where they are instead of copying each one out (issue 18:
        // per-record cost of streaming over whole-document parsing).
        // A record stays readable after the stream is gone: the dictionary lives until its last
        // document is freed. Adoption still re-homes namespaces declared on ancestors, but zeroes
        // the line numbers of elements: keep them.
        if let dict = ctxt.pointee.dict {
            xmlDictReference(dict)
            doc.pointee.dict = dict
        }
        lines.removeAll(keepingCapacity: true)
        Self.forEachElement(node) { lines.append($0.pointee.line) }
        xmlDOMWrapAdoptNode(nil, ctxt.pointee.myDoc, node, doc, nil, 0)
        var i = 0
        Self.forEachElement(node) {
            $0.pointee.line = lines[i]
            i += 1
        }
        xmlDocSetRootElement(doc, node)
        let entry = Entry(doc: doc, pathIndex: recordPathIndex, locationPath: nil)
        if depth == 1 {
            entry.locationPath = "/" + recordName
        } else if recordPosition >= 2 {
            entry.locationPath = frames[depth - 2].path + "/\(recordName)[\(recordPosition)]"
        } else {
            frames[depth - 2].held[recordName] = entry
        }
        queue.append(entry)
    }

    /// Pre-order walk of the elements of a subtree.
    private static func forEachElement(_ root: xmlNodePtr, _ body: (xmlNodePtr) -> Void) {
        var node: xmlNodePtr? = root
        while let n = node {
            body(n)
            if let child = firstElement(n.pointee.children) {
                node = child
                continue
            }
            var up: xmlNodePtr? = n
            node = nil
            while let u = up, u != root {
                if let next = firstElement(u.pointee.next) {
                    node = next
                    break
                }
                up = u.pointee.parent
            }
        }
    }

    private static func firstElement(_ first: xmlNodePtr?) -> xmlNodePtr? {
        var node = first
        while let n = node, n.pointee.type != XML_ELEMENT_NODE { node = n.pointee.next }
        return node
    }
}

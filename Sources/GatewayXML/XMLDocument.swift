import CLibXML2
import Synchronization

/// A parsed XML document (libxml2 tree), immutable once parsed and safe to read from several
/// threads at once. Nodes (`XMLNode`) keep their document alive.
public final class XMLDocument: @unchecked Sendable {
    /// Limits and parser choices. The hardening (no network, no DTD loading, no entity
    /// substitution, documents declaring entities rejected) is not optional.
    public struct Options: Sendable, Hashable {
        /// Documents larger than this are rejected before parsing (`XMLError.Kind.tooLarge`).
        /// For `XMLRecordStream`, the limit of one record (and of the content outside records).
        public var maxDocumentBytes: Int
        /// Elements nested deeper than this are rejected (`XMLError.Kind.tooDeep`): the root
        /// element is at depth 1, so `maxDepth` 256 accepts 256 nested elements and rejects 257.
        /// libxml2 has its own ceiling too (257 levels without `XML_PARSE_HUGE`, which we never
        /// set), so values above 256 behave as 257.
        public var maxDepth: Int
        /// Drops white-space-only text between elements (`XML_PARSE_NOBLANKS`): fewer nodes,
        /// faster navigation. White space inside leaf elements is always kept.
        public var ignoreBlankText: Bool
        /// Start tags with more attributes (namespace declarations included) are rejected
        /// (`XMLError.Kind.tooManyAttributes`) before libxml2 reads them: it handles the attributes
        /// of one element in O(n²).
        public var maxAttributesPerElement: Int
        /// Documents with more elements are rejected (`XMLError.Kind.tooManyElements`) before
        /// libxml2 builds the tree: each element costs a node of about 120 bytes, so a body of empty
        /// elements would otherwise take many times its size in memory. `XMLRecordStream` releases
        /// each record as it completes and bounds the bytes outside records, so it does not apply it.
        public var maxElements: Int

        public init(
            maxDocumentBytes: Int = 16 << 20, maxDepth: Int = 256, ignoreBlankText: Bool = true,
            maxAttributesPerElement: Int = 256, maxElements: Int = 1_000_000
        ) {
            self.maxDocumentBytes = maxDocumentBytes
            self.maxDepth = maxDepth
            self.ignoreBlankText = ignoreBlankText
            self.maxAttributesPerElement = maxAttributesPerElement
            self.maxElements = maxElements
        }
    }

    let pointer: xmlDocPtr
    /// For a record produced by `XMLRecordStream`: the location path of the root element in the
    /// streamed document (`/root/body/vio[3]`), used as the prefix of every `locationPath`.
    let rootLocationPath: String?

    /// Positions of the children of parents with many child elements, built on first use so that
    /// `locationPath` of every record of a large batch does not cost O(n²).
    private let siblingIndexes = Mutex<[UInt: SiblingIndex]>([:])

    /// `@unchecked Sendable` because its keys are C pointers; it is immutable once built and only
    /// read afterwards.
    final class SiblingIndex: @unchecked Sendable {
        /// 1-based position of each child element among the children of its local name.
        let position: [xmlNodePtr: Int]
        /// How many child elements have each local name.
        let count: [String: Int]

        init(children parent: xmlNodePtr) {
            var position: [xmlNodePtr: Int] = [:]
            var count: [String: Int] = [:]
            var child = parent.pointee.children
            while let c = child {
                if c.pointee.type == XML_ELEMENT_NODE {
                    let name = c.pointee.name.map { String(cString: $0) } ?? ""
                    let n = (count[name] ?? 0) + 1
                    count[name] = n
                    position[c] = n
                }
                child = c.pointee.next
            }
            self.position = position
            self.count = count
        }
    }

    func siblingIndex(of parent: xmlNodePtr) -> SiblingIndex {
        let key = UInt(bitPattern: parent)
        return siblingIndexes.withLock { indexes in
            if let index = indexes[key] { return index }
            let index = SiblingIndex(children: parent)
            indexes[key] = index
            return index
        }
    }

    init(pointer: xmlDocPtr, rootLocationPath: String? = nil) {
        self.pointer = pointer
        self.rootLocationPath = rootLocationPath
    }

    deinit {
        xmlFreeDoc(pointer)
    }

    /// The root element.
    public var root: XMLNode? {
        xmlDocGetRootElement(pointer).map { XMLNode(document: self, pointer: $0) }
    }

    /// The encoding the document declared (`GBK`, `UTF-8`...), if it declared one.
    public var declaredEncoding: String? {
        pointer.pointee.encoding.map { String(cString: $0) }
    }

    /// Parses a whole document held in memory.
    ///
    /// The encoding is the one declared in the XML declaration (UTF-8, GBK, GB18030 and
    /// everything else iconv knows); no declaration means UTF-8; a UTF-8 BOM is accepted.
    public static func parse(_ bytes: [UInt8], options: Options = Options()) throws(XMLError) -> XMLDocument {
        let result: Result<XMLDocument, XMLError> = bytes.withUnsafeBytes { buffer in
            do throws(XMLError) {
                return .success(try parse(buffer, options: options))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses a whole document held in memory (see `parse(_:options:)` for `[UInt8]`).
    public static func parse(_ bytes: UnsafeRawBufferPointer, options: Options = Options()) throws(XMLError) -> XMLDocument {
        LibXML.prepareThread()
        guard bytes.count <= options.maxDocumentBytes, bytes.count <= Int(Int32.max) else {
            throw XMLError(.tooLarge, message: "document of \(bytes.count) bytes exceeds the limit of \(options.maxDocumentBytes) bytes")
        }
        guard bytes.count > 0, let base = bytes.baseAddress else {
            throw XMLError(.malformed, message: "empty document")
        }
        guard let ctxt = xmlCreateMemoryParserCtxt(base.assumingMemoryBound(to: CChar.self), Int32(bytes.count)) else {
            throw XMLError(.malformed, message: "cannot create an XML parser")
        }
        defer { xmlFreeParserCtxt(ctxt) }
        var scanner = MarkupScanner(
            limits: .init(maxAttributesPerElement: options.maxAttributesPerElement, maxElements: options.maxElements))
        if let error = scanner.scan(bytes) { throw error }
        let state = ParseGuard(maxDepth: options.maxDepth)
        xmlCtxtUseOptions(ctxt, ParseGuard.parserOptions(ignoreBlankText: options.ignoreBlankText))
        state.install(on: ctxt)
        let rc = withExtendedLifetime(state) { xmlParseDocument(ctxt) }
        let doc = ctxt.pointee.myDoc
        ctxt.pointee.myDoc = nil
        guard rc == 0, ctxt.pointee.wellFormed != 0, ctxt.pointee.nsWellFormed != 0, state.failure == nil, let doc else {
            if let doc { xmlFreeDoc(doc) }
            throw state.error(for: ctxt)
        }
        return XMLDocument(pointer: doc)
    }

    /// Convenience: parses UTF-8 (or declared-encoding) text given as a Swift string.
    public static func parse(_ text: String, options: Options = Options()) throws(XMLError) -> XMLDocument {
        try parse(Array(text.utf8), options: options)
    }
}

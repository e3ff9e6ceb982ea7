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
        /// The most memory the tree may take, in bytes as `TreeCost` estimates them while libxml2
        /// builds it (every element, attribute, namespace declaration, text, comment and processing
        /// instruction): past it the parse stops (`XMLError.Kind.tooMuchMemory`). Nil: no budget.
        /// The element bound alone does not bound memory: a node costs 40 times a 4-byte `<a/>`.
        /// `XMLRecordStream` does not apply it. What libxml2 holds besides the tree (its copy of the
        /// input, and the input converted to UTF-8 when it declares another encoding) is not in it:
        /// see `inputCost(of:)`.
        public var maxTreeBytes: Int?

        public init(
            maxDocumentBytes: Int = 16 << 20, maxDepth: Int = 256, ignoreBlankText: Bool = true,
            maxAttributesPerElement: Int = 256, maxElements: Int = 1_000_000, maxTreeBytes: Int? = nil
        ) {
            self.maxDocumentBytes = maxDocumentBytes
            self.maxDepth = maxDepth
            self.ignoreBlankText = ignoreBlankText
            self.maxAttributesPerElement = maxAttributesPerElement
            self.maxElements = maxElements
            self.maxTreeBytes = maxTreeBytes
        }
    }

    let pointer: xmlDocPtr
    /// For a record produced by `XMLRecordStream`: the location path of the root element in the
    /// streamed document (`/root/body/vio[3]`), used as the prefix of every `locationPath`.
    let rootLocationPath: String?
    /// What the tree takes, as `TreeCost` estimated it while parsing (0 when not parsed by
    /// `parse`, e.g. a streamed record).
    public let estimatedBytes: Int

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

    init(pointer: xmlDocPtr, rootLocationPath: String? = nil, estimatedBytes: Int = 0) {
        self.pointer = pointer
        self.rootLocationPath = rootLocationPath
        self.estimatedBytes = estimatedBytes
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
        let state = ParseGuard(maxDepth: options.maxDepth, maxTreeBytes: options.maxTreeBytes)
        xmlCtxtUseOptions(ctxt, ParseGuard.parserOptions(ignoreBlankText: options.ignoreBlankText))
        state.install(on: ctxt)
        let rc = withExtendedLifetime(state) { xmlParseDocument(ctxt) }
        let doc = ctxt.pointee.myDoc
        ctxt.pointee.myDoc = nil
        guard rc == 0, ctxt.pointee.wellFormed != 0, ctxt.pointee.nsWellFormed != 0, state.failure == nil, let doc else {
            if let doc { xmlFreeDoc(doc) }
            throw state.error(for: ctxt)
        }
        return XMLDocument(pointer: doc, estimatedBytes: state.treeBytes)
    }

    /// What libxml2 2.9 holds of the input itself while parsing `bytes` in memory: its own copy
    /// of them (`xmlCreateMemoryParserCtxt` copies), and once more when the XML declaration names
    /// an encoding other than UTF-8 (the input converted to UTF-8; GBK text grows by half).
    public static func inputCost(of bytes: [UInt8]) -> Int {
        // The declaration, lower-cased, if the document starts with one (after a UTF-8 BOM).
        var head = bytes.prefix(256).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { head.removeFirst(3) }
        guard head.starts(with: Array("<?xml".utf8)), let end = Self.find(Array("?>".utf8), in: head[...]) else { return bytes.count }
        let declaration = head[..<end]
        guard let at = Self.find(Array("encoding".utf8), in: declaration) else { return bytes.count }
        let value = declaration[(at + 8)...].drop { $0 == 0x20 || $0 == 0x3D || $0 == 0x22 || $0 == 0x27 }
        let utf8 = value.starts(with: Array("utf-8".utf8)) || value.starts(with: Array("utf8".utf8))
        return utf8 ? bytes.count : bytes.count * 5 / 2
    }

    private static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in haystack.startIndex...(haystack.endIndex - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }

    /// Convenience: parses UTF-8 (or declared-encoding) text given as a Swift string.
    public static func parse(_ text: String, options: Options = Options()) throws(XMLError) -> XMLDocument {
        try parse(Array(text.utf8), options: options)
    }
}

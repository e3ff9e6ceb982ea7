import CLibXML2

/// Per-parse state reached from libxml2's SAX callbacks through `xmlParserCtxt._private`.
///
/// Every parser context we create (DOM and streaming) gets the same hooks, installed by
/// `install(on:)` before parsing starts:
/// - `entityDecl` / `unparsedEntityDecl` stop the parser as soon as a declaration is seen, so
///   no entity is ever expanded (nor even recorded);
/// - `resolveEntity` / `externalSubset` never load anything;
/// - `startElementNs` / `endElementNs` count the depth (and drive record streaming);
/// - with a tree budget (`XMLDocument.Options.maxTreeBytes`), every node the tree builder is about
///   to make is costed (`TreeCost`) and the parse stops once the sum passes the budget: elements
///   with their attributes and namespace declarations, text, comments and processing instructions;
/// - `serror` keeps the first error libxml2 reports, per context (thread-safe: no globals).
final class ParseGuard {
    let maxDepth: Int
    /// The tree budget in estimated bytes (`Int.max`: none).
    let maxTreeBytes: Int
    /// Our own rejection (entity declaration, depth, size): reported in preference to whatever
    /// libxml2 says after `xmlStopParser`.
    var failure: XMLError?
    /// The first error libxml2 reported.
    var firstError: XMLError?
    /// Set while streaming: told about every element start and end. The hooks read the unowned
    /// copy in `Hot`, so it is kept in step on every set: a stale copy would dangle.
    var observer: (any ElementObserver)? {
        didSet {
            hot.pointee.observer = observer
            hot.pointee.observing = observer != nil
        }
    }

    init(maxDepth: Int, maxTreeBytes: Int? = nil) {
        self.maxDepth = maxDepth
        self.maxTreeBytes = maxTreeBytes ?? .max
    }

    /// The estimated bytes of the tree built so far (`TreeCost`).
    var treeBytes: Int { hot.pointee.treeBytes }

    /// What the per-element hooks need, in plain memory: reaching it from `_private` costs no
    /// reference counting or exclusivity check (the hooks run twice per element).
    struct Hot {
        var depth = 0
        let maxDepth: Int
        var treeBytes = 0
        let maxTreeBytes: Int
        var observing = false
        unowned(unsafe) let owner: ParseGuard
        /// `owner.observer`, which keeps it alive: read from here, a hook neither retains it nor
        /// checks exclusive access to the owner's property (twice per element while streaming).
        unowned(unsafe) var observer: (any ElementObserver)? = nil
    }

    private lazy var hot: UnsafeMutablePointer<Hot> = {
        let p = UnsafeMutablePointer<Hot>.allocate(capacity: 1)
        p.initialize(to: Hot(maxDepth: maxDepth, maxTreeBytes: maxTreeBytes, owner: self))
        return p
    }()

    deinit {
        hot.deinitialize(count: 1)
        hot.deallocate()
    }

    @inline(__always)
    static func hot(_ ctx: UnsafeMutableRawPointer?) -> (xmlParserCtxtPtr, UnsafeMutablePointer<Hot>)? {
        guard let ctx else { return nil }
        let ctxt = ctx.assumingMemoryBound(to: xmlParserCtxt.self)
        guard let p = ctxt.pointee._private else { return nil }
        return (ctxt, p.assumingMemoryBound(to: Hot.self))
    }

    /// Installs the hooks on `ctxt`; the caller keeps `self` alive until the context is freed.
    func install(on ctxt: xmlParserCtxtPtr) {
        hot.pointee.observing = observer != nil
        hot.pointee.observer = observer
        ctxt.pointee._private = UnsafeMutableRawPointer(hot)
        guard let sax = ctxt.pointee.sax else { return }
        sax.pointee.entityDecl = { ctx, _, _, _, _, _ in
            ParseGuard.reject(ctx, .entityDeclaration, "entity declarations are not allowed")
        }
        sax.pointee.unparsedEntityDecl = { ctx, _, _, _, _ in
            ParseGuard.reject(ctx, .entityDeclaration, "entity declarations are not allowed")
        }
        sax.pointee.resolveEntity = { _, _, _ in nil }
        sax.pointee.externalSubset = { _, _, _, _ in }
        sax.pointee.startElementNs = { ctx, localname, prefix, uri, nbNs, namespaces, nbAttrs, nbDefaulted, attrs in
            guard let (ctxt, hot) = ParseGuard.hot(ctx) else { return }
            hot.pointee.depth += 1
            let depth = hot.pointee.depth
            if depth > hot.pointee.maxDepth {
                ParseGuard.reject(ctx, .tooDeep, "elements nest deeper than \(hot.pointee.maxDepth) levels")
                return
            }
            hot.pointee.treeBytes += TreeCost.element(attributes: Int(nbAttrs), namespaces: Int(nbNs), attrs)
            if hot.pointee.treeBytes > hot.pointee.maxTreeBytes {
                ParseGuard.overBudget(ctx, hot)
                return
            }
            if hot.pointee.observing, let observer = hot.pointee.observer,
               !observer.willStartElement(ctxt, localname, uri, depth: depth) {
                return
            }
            xmlSAX2StartElementNs(ctx, localname, prefix, uri, nbNs, namespaces, nbAttrs, nbDefaulted, attrs)
            if hot.pointee.observing { hot.pointee.observer?.didStartElement(ctxt, depth: depth) }
        }
        sax.pointee.endElementNs = { ctx, localname, prefix, uri in
            guard let (ctxt, hot) = ParseGuard.hot(ctx) else { return }
            let node = ctxt.pointee.node
            xmlSAX2EndElementNs(ctx, localname, prefix, uri)
            if hot.pointee.observing, let observer = hot.pointee.observer, let node {
                observer.didEndElement(ctxt, node, depth: hot.pointee.depth)
            }
            hot.pointee.depth -= 1
        }
        // libxml2's push parser (2.9) hands CDATA sections to SAX without XML's end-of-line
        // normalisation (§2.11: CR LF and lone CR become LF), unlike the pull parser; normalise
        // here so that a streamed record reads exactly like the same record parsed whole.
        sax.pointee.cdataBlock = { ctx, value, length in
            if !ParseGuard.charge(ctx, text: Int(length)) { return }
            guard let value, length > 0, UnsafeBufferPointer(start: value, count: Int(length)).contains(0x0D) else {
                xmlSAX2CDataBlock(ctx, value, length)
                return
            }
            var out: [UInt8] = []
            out.reserveCapacity(Int(length))
            var i = 0
            let n = Int(length)
            while i < n {
                let b = value[i]
                if b == 0x0D {
                    out.append(0x0A)
                    if i + 1 < n && value[i + 1] == 0x0A { i += 1 }
                } else {
                    out.append(b)
                }
                i += 1
            }
            out.withUnsafeBufferPointer { xmlSAX2CDataBlock(ctx, $0.baseAddress, Int32($0.count)) }
        }
        if maxTreeBytes != .max { installTreeBudget(on: sax) }
        sax.pointee.serror = { userData, error in
            guard let (_, state) = ParseGuard.state(userData), let error else { return }
            guard state.firstError == nil, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
            state.firstError = XMLError(
                .malformed, message: LibXML.message(error),
                line: error.pointee.line > 0 ? Int(error.pointee.line) : nil,
                column: error.pointee.int2 > 0 ? Int(error.pointee.int2) : nil)
        }
    }

    /// The error to report for a parse that failed.
    func error(for ctxt: xmlParserCtxtPtr) -> XMLError {
        if let failure { return failure }
        if let firstError { return firstError }
        if let last = xmlCtxtGetLastError(ctxt), last.pointee.code != 0 {
            return XMLError(.malformed, message: LibXML.message(last),
                            line: last.pointee.line > 0 ? Int(last.pointee.line) : nil,
                            column: last.pointee.int2 > 0 ? Int(last.pointee.int2) : nil)
        }
        return XMLError(.malformed, message: "the document is not well-formed")
    }

    @inline(__always)
    static func state(_ ctx: UnsafeMutableRawPointer?) -> (xmlParserCtxtPtr, ParseGuard)? {
        guard let (ctxt, hot) = hot(ctx) else { return nil }
        return (ctxt, hot.pointee.owner)
    }

    /// Records our own rejection at the current position and stops the parser.
    static func reject(_ ctx: UnsafeMutableRawPointer?, _ kind: XMLError.Kind, _ message: String) {
        guard let (ctxt, state) = state(ctx) else { return }
        if state.failure == nil {
            let line = Int(xmlSAX2GetLineNumber(ctx))
            let column = Int(xmlSAX2GetColumnNumber(ctx))
            state.failure = XMLError(kind, message: message, line: line > 0 ? line : nil,
                                     column: column > 0 ? column : nil)
        }
        xmlStopParser(ctxt)
    }

    /// Charges what the tree builder makes for text, comments and processing instructions (the
    /// element hook charges elements): installed only with a budget, the common path stays as is.
    private func installTreeBudget(on sax: UnsafeMutablePointer<xmlSAXHandler>) {
        sax.pointee.characters = { ctx, value, length in
            if ParseGuard.charge(ctx, text: Int(length)) { xmlSAX2Characters(ctx, value, length) }
        }
        sax.pointee.comment = { ctx, value in
            if ParseGuard.charge(ctx, node: Int(xmlStrlen(value))) {
                xmlSAX2Comment(ctx, value)
            }
        }
        sax.pointee.processingInstruction = { ctx, target, data in
            if ParseGuard.charge(ctx, node: Int(xmlStrlen(target)) + Int(xmlStrlen(data))) { xmlSAX2ProcessingInstruction(ctx, target, data) }
        }
    }

    /// Charges a text run: a new text node unless it extends the current parent's last one.
    /// False (and the parse stopped) past the budget.
    static func charge(_ ctx: UnsafeMutableRawPointer?, text length: Int) -> Bool {
        guard let (ctxt, hot) = hot(ctx), hot.pointee.maxTreeBytes != .max else { return true }
        let extends = ctxt.pointee.node?.pointee.last?.pointee.type == XML_TEXT_NODE
        hot.pointee.treeBytes += extends ? length : TreeCost.text(length)
        guard hot.pointee.treeBytes <= hot.pointee.maxTreeBytes else {
            overBudget(ctx, hot)
            return false
        }
        return true
    }

    /// Charges a comment or processing instruction of `length` bytes.
    static func charge(_ ctx: UnsafeMutableRawPointer?, node length: Int) -> Bool {
        guard let (_, hot) = hot(ctx) else { return true }
        hot.pointee.treeBytes += TreeCost.node + length
        guard hot.pointee.treeBytes <= hot.pointee.maxTreeBytes else {
            overBudget(ctx, hot)
            return false
        }
        return true
    }

    static func overBudget(_ ctx: UnsafeMutableRawPointer?, _ hot: UnsafeMutablePointer<Hot>) {
        reject(ctx, .tooMuchMemory, "the document's tree would take more than \(TreeCost.mebibytes(hot.pointee.maxTreeBytes)) of memory")
    }

    /// The libxml2 options every XML parse uses: no network, no entity substitution, no DTD
    /// loading or defaulting, no XInclude; CDATA becomes text; big line numbers are kept.
    static func parserOptions(ignoreBlankText: Bool) -> Int32 {
        var o = XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_COMPACT.rawValue
            | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOXINCNODE.rawValue
        if ignoreBlankText { o |= XML_PARSE_NOBLANKS.rawValue }
        return Int32(bitPattern: o)
    }
}

/// Told about element starts and ends while parsing (used by `XMLRecordStream`).
protocol ElementObserver: AnyObject {
    /// Before the element is created; return false to skip creating it (after rejecting).
    func willStartElement(
        _ ctxt: xmlParserCtxtPtr, _ localName: UnsafePointer<xmlChar>?, _ uri: UnsafePointer<xmlChar>?, depth: Int
    ) -> Bool
    /// After the element was created (`ctxt.pointee.node` is the new element).
    func didStartElement(_ ctxt: xmlParserCtxtPtr, depth: Int)
    /// After the element was completed.
    func didEndElement(_ ctxt: xmlParserCtxtPtr, _ node: xmlNodePtr, depth: Int)
}

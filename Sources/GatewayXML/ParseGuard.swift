import CLibXML2

/// Per-parse state reached from libxml2's SAX callbacks through `xmlParserCtxt._private`.
///
/// Every parser context we create (DOM and streaming) gets the same hooks, installed by
/// `install(on:)` before parsing starts:
/// - `entityDecl` / `unparsedEntityDecl` stop the parser as soon as a declaration is seen, so
///   no entity is ever expanded (nor even recorded);
/// - `resolveEntity` / `externalSubset` never load anything;
/// - `startElementNs` / `endElementNs` count the depth (and drive record streaming);
/// - `serror` keeps the first error libxml2 reports, per context (thread-safe: no globals).
final class ParseGuard {
    let maxDepth: Int
    /// Our own rejection (entity declaration, depth, size): reported in preference to whatever
    /// libxml2 says after `xmlStopParser`.
    var failure: XMLError?
    /// The first error libxml2 reported.
    var firstError: XMLError?
    /// Set while streaming: told about every element start and end.
    var observer: (any ElementObserver)?

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    /// What the per-element hooks need, in plain memory: reaching it from `_private` costs no
    /// reference counting or exclusivity check (the hooks run twice per element).
    struct Hot {
        var depth = 0
        let maxDepth: Int
        var observing = false
        unowned(unsafe) let owner: ParseGuard
    }

    private lazy var hot: UnsafeMutablePointer<Hot> = {
        let p = UnsafeMutablePointer<Hot>.allocate(capacity: 1)
        p.initialize(to: Hot(maxDepth: maxDepth, owner: self))
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
            if hot.pointee.observing, let observer = hot.pointee.owner.observer,
               !observer.willStartElement(ctxt, localname, uri, depth: depth) {
                return
            }
            xmlSAX2StartElementNs(ctx, localname, prefix, uri, nbNs, namespaces, nbAttrs, nbDefaulted, attrs)
            if hot.pointee.observing { hot.pointee.owner.observer?.didStartElement(ctxt, depth: depth) }
        }
        sax.pointee.endElementNs = { ctx, localname, prefix, uri in
            guard let (ctxt, hot) = ParseGuard.hot(ctx) else { return }
            let node = ctxt.pointee.node
            xmlSAX2EndElementNs(ctx, localname, prefix, uri)
            if hot.pointee.observing, let observer = hot.pointee.owner.observer, let node {
                observer.didEndElement(ctxt, node, depth: hot.pointee.depth)
            }
            hot.pointee.depth -= 1
        }
        // libxml2's push parser (2.9) hands CDATA sections to SAX without XML's end-of-line
        // normalisation (§2.11: CR LF and lone CR become LF), unlike the pull parser; normalise
        // here so that a streamed record reads exactly like the same record parsed whole.
        sax.pointee.cdataBlock = { ctx, value, length in
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

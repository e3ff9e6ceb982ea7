#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CLibXML2

/// Reads a document of any size from a file or descriptor and yields its records one at a time,
/// each as the root of its own small `XMLDocument`, so that memory does not grow with the number
/// of records.
///
/// It uses libxml2's push parser with the same hardening as `XMLDocument.parse` (no network, no
/// DTD loading, no entity substitution, documents declaring entities rejected before anything is
/// expanded, depth limit), and builds only the current record's subtree: each completed record is
/// detached from the document being parsed, and the white space around it is freed.
///
/// **Record paths** are relative to the root element, like a mapping's `records:` member:
/// `body/vio`, `Case`, or `.` for the root itself; steps are local names (any namespace). A path
/// starting with `/` names the root too (`/root/body/vio`). With several paths, an element is a
/// record when any of them matches it (the first match, by position, is reported); records do not
/// nest.
///
/// **Location paths** of streamed records equal those of the DOM: the record element gets `[n]`
/// only when its parent has more than one child element with that name. To know that, the first
/// such record is held back until either a second sibling of that name starts (then it is `[1]`)
/// or its parent ends (then it has no index) — at most one record is held. The one difference
/// with the DOM: an *ancestor* of the records that is the first of its name gets no `[1]` even if
/// a sibling of the same name follows after the records (`/root/body/vio` where the DOM would say
/// `/root/body[1]/vio` because a second `body` comes later); ancestors from the second on do get
/// `[n]`.
///
/// **Limits**: `maxDocumentBytes` of the options applies to each record and to the content outside
/// records (counted in UTF-8 bytes after decoding); `maxDepth` as in `XMLDocument`.
///
/// **Errors**: records completed before a parse error are still yielded; then `next()` throws.
public final class XMLRecordStream {
    /// One record of the stream.
    public struct Record: Sendable {
        /// The record element, root of its own document; `locationPath` is its place in the
        /// streamed document.
        public let node: XMLNode
        /// Position among the records of the document, from 0.
        public let index: Int
        /// Which of the record paths matched.
        public let pathIndex: Int
    }

    private let fd: Int32
    private let closeWhenDone: Bool
    private let ctxt: xmlParserCtxtPtr
    private let guardState: ParseGuard
    private let collector: RecordCollector
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var finished = false
    private var closed = false
    private var yielded = 0

    /// Streams the file at `path`.
    public convenience init(path: String, recordPaths: [String], options: XMLDocument.Options = .init()) throws(XMLError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw XMLError(.io, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        try self.init(fileDescriptor: fd, closeWhenDone: true, recordPaths: recordPaths, options: options)
    }

    /// Streams from an open descriptor (standard input is 0); closes it when done if asked to.
    public init(
        fileDescriptor: Int32, closeWhenDone: Bool = false, recordPaths: [String], options: XMLDocument.Options = .init()
    ) throws(XMLError) {
        LibXML.prepareThread()
        self.fd = fileDescriptor
        self.closeWhenDone = closeWhenDone
        let collector: RecordCollector
        do throws(XMLError) {
            collector = try RecordCollector(recordPaths: recordPaths, maxBytes: options.maxDocumentBytes)
        } catch {
            if closeWhenDone { close(fileDescriptor) }
            throw error
        }
        guard let ctxt = xmlCreatePushParserCtxt(nil, nil, nil, 0, nil) else {
            if closeWhenDone { close(fileDescriptor) }
            throw XMLError(.malformed, message: "cannot create an XML parser")
        }
        self.ctxt = ctxt
        self.collector = collector
        guardState = ParseGuard(maxDepth: options.maxDepth)
        guardState.observer = collector
        xmlCtxtUseOptions(ctxt, ParseGuard.parserOptions(ignoreBlankText: options.ignoreBlankText))
        guardState.install(on: ctxt)
    }

    deinit {
        closeInput()
        if let doc = ctxt.pointee.myDoc { xmlFreeDoc(doc) }
        ctxt.pointee.myDoc = nil
        xmlFreeParserCtxt(ctxt)
        collector.discardAll()
    }

    /// Convenience for a single record path.
    public convenience init(path: String, recordPath: String, options: XMLDocument.Options = .init()) throws(XMLError) {
        try self.init(path: path, recordPaths: [recordPath], options: options)
    }

    /// The next record, or nil at the end of the document.
    public func next() throws(XMLError) -> Record? {
        while true {
            if let (doc, pathIndex) = collector.popReady() {
                defer { yielded += 1 }
                return Record(node: doc.root!, index: yielded, pathIndex: pathIndex)
            }
            if finished {
                if let error = pendingError {
                    pendingError = nil
                    throw error
                }
                return nil
            }
            try feed()
        }
    }

    /// The document as it stood when the first record started (root element, and everything before
    /// the record such as `head/jkid`), or the whole document if it has no record; nil when the
    /// root itself is the record. Reads ahead as far as needed; records read meanwhile are kept
    /// for `next()`.
    public func header() throws(XMLError) -> XMLNode? {
        while !collector.headerDecided && !finished { try feed() }
        if !collector.headerDecided, let doc = ctxt.pointee.myDoc, xmlDocGetRootElement(doc) != nil {
            // No record at all: the document itself is the header.
            collector.takeHeader(doc)
            ctxt.pointee.myDoc = nil
        }
        return collector.header?.root
    }

    /// Reads and parses one more chunk; throws when the parse failed and nothing is left to yield.
    private func feed() throws(XMLError) {
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        } while n < 0 && errno == EINTR
        if n < 0 {
            let message = String(cString: strerror(errno))
            finished = true
            closeInput()
            throw XMLError(.io, message: "cannot read the document: \(message)")
        }
        let rc = withExtendedLifetime(guardState) {
            buffer.withUnsafeBytes {
                xmlParseChunk(ctxt, $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(n), n == 0 ? 1 : 0)
            }
        }
        let failed = guardState.failure != nil || ctxt.pointee.wellFormed == 0 || ctxt.pointee.nsWellFormed == 0
            || (rc != 0 && rc != Int32(XML_ERR_OK.rawValue))
        if failed {
            finished = true
            closeInput()
            collector.finish(complete: false)
            if collector.hasReady { pendingError = guardState.error(for: ctxt); return }
            throw guardState.error(for: ctxt)
        }
        if n == 0 {
            finished = true
            closeInput()
            collector.finish(complete: true)
        }
    }

    private var pendingError: XMLError?

    /// Nodes currently held in the tree being parsed (for tests: must stay small however many
    /// records went by).
    var retainedNodeCount: Int {
        var count = 0
        func visit(_ first: xmlNodePtr?) {
            var node = first
            while let n = node {
                count += 1
                visit(n.pointee.children)
                node = n.pointee.next
            }
        }
        visit(ctxt.pointee.myDoc?.pointee.children)
        return count
    }

    private func closeInput() {
        if closeWhenDone && !closed { close(fd) }
        closed = true
    }
}

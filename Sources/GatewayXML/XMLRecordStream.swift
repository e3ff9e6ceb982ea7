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
/// **Detection before choosing records**: open the stream without record paths, look at
/// `peek()` (the document's first 64 KiB parsed into a tree: root element, `head/jkid`...), then
/// call `selectRecords(_:)`; the bytes read by `peek()` are parsed again from the start, so this
/// works on standard input too.
///
/// **Errors**: records completed before a parse error are still yielded; then `next()` throws.
///
/// Each record is a document of its own: relative paths behave as on the DOM, but absolute XPath
/// expressions (`/root/head/jkid`, `//x`) see only the record; read the header from `header()`
/// or `peek()` instead.
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

    /// How much `peek()` reads.
    public static let peekBytes = 64 * 1024

    private let fd: Int32
    private let closeWhenDone: Bool
    private let options: XMLDocument.Options
    private var parser: PushParser?
    private var collector: RecordCollector?
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Bytes read by `peek()`, parsed again first by the record parser.
    private var prefix: [UInt8] = []
    private var peeked: XMLDocument??
    private var inputEnded = false
    private var finished = false
    private var closed = false
    private var yielded = 0
    private var pendingError: XMLError?
    private var started = false

    /// Streams the file at `path`; records as `recordPaths` say, or as chosen later with
    /// `selectRecords(_:)` when `recordPaths` is empty.
    public convenience init(path: String, recordPaths: [String] = [], options: XMLDocument.Options = .init()) throws(XMLError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw XMLError(.io, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        try self.init(fileDescriptor: fd, closeWhenDone: true, recordPaths: recordPaths, options: options)
    }

    /// Convenience for a single record path.
    public convenience init(path: String, recordPath: String, options: XMLDocument.Options = .init()) throws(XMLError) {
        try self.init(path: path, recordPaths: [recordPath], options: options)
    }

    /// Streams from an open descriptor (standard input is 0); closes it when done if asked to.
    public init(
        fileDescriptor: Int32, closeWhenDone: Bool = false, recordPaths: [String] = [],
        options: XMLDocument.Options = .init()
    ) throws(XMLError) {
        LibXML.prepareThread()
        self.fd = fileDescriptor
        self.closeWhenDone = closeWhenDone
        self.options = options
        if !recordPaths.isEmpty {
            do throws(XMLError) {
                try selectRecords(recordPaths)
            } catch {
                closeInput()
                throw error
            }
        }
    }

    deinit {
        closeInput()
        collector?.discardAll()
    }

    /// Chooses the record paths (once, before the first `next()` or `header()`).
    public func selectRecords(_ recordPaths: [String]) throws(XMLError) {
        guard parser == nil else { throw XMLError(.invalidPath, message: "record paths are already chosen") }
        let collector = try RecordCollector(recordPaths: recordPaths, maxBytes: options.maxDocumentBytes)
        parser = try PushParser(options: options, observer: collector)
        self.collector = collector
    }

    /// The beginning of the document (its first `peekBytes` bytes, or all of it if shorter) as a
    /// tree: the root element with what it contains so far. Nil if the root has not started by
    /// then. For format detection before `selectRecords(_:)`; throws if that much of the document
    /// is already malformed or declares entities.
    public func peek() throws(XMLError) -> XMLNode? {
        if let peeked { return peeked?.root }
        guard !started else {
            throw XMLError(.invalidPath, message: "peek() must come before reading records")
        }
        while prefix.count < Self.peekBytes && !inputEnded {
            let n = try readChunk()
            if n == 0 { inputEnded = true } else { prefix += buffer[0..<n] }
        }
        let probe = try PushParser(options: options, observer: nil)
        guard prefix.withUnsafeBytes({ probe.push($0, terminate: inputEnded) }) else { throw probe.error }
        let snapshot = probe.snapshotRoot()
        peeked = .some(snapshot)
        return snapshot?.root
    }

    /// The next record, or nil at the end of the document.
    public func next() throws(XMLError) -> Record? {
        guard let collector else { throw XMLError(.invalidPath, message: "no record path chosen") }
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
        guard let collector, let parser else { throw XMLError(.invalidPath, message: "no record path chosen") }
        while !collector.headerDecided && !finished { try feed() }
        if !collector.headerDecided, let doc = parser.takeDocument() {
            // No record at all: the document itself is the header.
            collector.takeHeader(doc)
        }
        return collector.header?.root
    }

    /// Nodes currently held in the tree being parsed (for tests: must stay small however many
    /// records went by).
    var retainedNodeCount: Int { parser?.nodeCount ?? 0 }

    private func readChunk() throws(XMLError) -> Int {
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        } while n < 0 && errno == EINTR
        guard n >= 0 else {
            let message = String(cString: strerror(errno))
            finished = true
            closeInput()
            throw XMLError(.io, message: "cannot read the document: \(message)")
        }
        return n
    }

    /// Parses one more chunk (the bytes `peek()` read first); throws when the parse failed and
    /// no record is left to yield.
    private func feed() throws(XMLError) {
        guard let parser, let collector else { throw XMLError(.invalidPath, message: "no record path chosen") }
        started = true
        let ok: Bool
        var terminate = false
        if !prefix.isEmpty {
            let bytes = prefix
            prefix = []
            terminate = inputEnded
            ok = bytes.withUnsafeBytes { parser.push($0, terminate: terminate) }
        } else if inputEnded {
            terminate = true
            ok = parser.push(UnsafeRawBufferPointer(start: nil, count: 0), terminate: true)
        } else {
            let n = try readChunk()
            if n == 0 { inputEnded = true }
            terminate = n == 0
            ok = buffer.withUnsafeBytes { parser.push(UnsafeRawBufferPointer(rebasing: $0[0..<n]), terminate: terminate) }
        }
        if !ok {
            finished = true
            closeInput()
            collector.finish()
            if collector.hasReady {
                pendingError = parser.error
                return
            }
            throw parser.error
        }
        if terminate {
            finished = true
            closeInput()
            collector.finish()
        }
    }

    private func closeInput() {
        if closeWhenDone && !closed { close(fd) }
        closed = true
    }
}

/// A libxml2 push-parser context with our hooks.
private final class PushParser {
    let ctxt: xmlParserCtxtPtr
    let guardState: ParseGuard
    private var scanner: MarkupScanner

    init(options: XMLDocument.Options, observer: (any ElementObserver)?) throws(XMLError) {
        scanner = MarkupScanner(limits: .init(maxAttributesPerElement: options.maxAttributesPerElement, maxElements: nil))
        guard let ctxt = xmlCreatePushParserCtxt(nil, nil, nil, 0, nil) else {
            throw XMLError(.malformed, message: "cannot create an XML parser")
        }
        self.ctxt = ctxt
        guardState = ParseGuard(maxDepth: options.maxDepth)
        guardState.observer = observer
        xmlCtxtUseOptions(ctxt, ParseGuard.parserOptions(ignoreBlankText: options.ignoreBlankText))
        guardState.install(on: ctxt)
    }

    deinit {
        if let doc = ctxt.pointee.myDoc { xmlFreeDoc(doc) }
        ctxt.pointee.myDoc = nil
        xmlFreeParserCtxt(ctxt)
    }

    /// Parses `bytes`; false when the document turned out malformed or broke a limit.
    func push(_ bytes: UnsafeRawBufferPointer, terminate: Bool) -> Bool {
        if let failure = scanner.scan(bytes) {
            guardState.failure = guardState.failure ?? failure
            return false
        }
        let rc = xmlParseChunk(
            ctxt, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), terminate ? 1 : 0)
        return guardState.failure == nil && ctxt.pointee.wellFormed != 0 && ctxt.pointee.nsWellFormed != 0
            && rc == Int32(XML_ERR_OK.rawValue)
    }

    var error: XMLError { guardState.error(for: ctxt) }

    /// Hands over the document built so far.
    func takeDocument() -> xmlDocPtr? {
        guard let doc = ctxt.pointee.myDoc, xmlDocGetRootElement(doc) != nil else { return nil }
        ctxt.pointee.myDoc = nil
        return doc
    }

    /// A copy of the root element as parsed so far, in a document of its own.
    func snapshotRoot() -> XMLDocument? {
        guard let doc = ctxt.pointee.myDoc, let root = xmlDocGetRootElement(doc) else { return nil }
        return copyRoot(root)
    }

    var nodeCount: Int {
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
}

/// A deep copy of `root` (namespaces re-declared as needed) as the root of a new document.
func copyRoot(_ root: xmlNodePtr) -> XMLDocument? {
    guard let doc = xmlNewDoc("1.0") else { return nil }
    guard let copy = xmlDocCopyNode(root, doc, 1) else {
        xmlFreeDoc(doc)
        return nil
    }
    xmlDocSetRootElement(doc, copy)
    return XMLDocument(pointer: doc)
}

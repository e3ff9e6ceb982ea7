import CLibXML2
import Synchronization

/// A full XPath 1.0 expression evaluated by libxml2.
///
/// libxml2 evaluates a compiled expression with one `xmlXPathContext` at a time, and evaluation
/// writes small caches into the compiled steps; so each concurrent caller takes a *slot* — its own
/// context and its own compiled expression — from a pool, and gives it back afterwards. Slots are
/// created on demand (as many as there were concurrent callers) and reused, so steady-state
/// evaluation allocates no context (a fresh `xmlXPathNewContext` per evaluation costs more than
/// evaluating a short expression: see the benchmark test).
final class CompiledXPath: @unchecked Sendable {
    /// One evaluation's libxml2 objects; `@unchecked Sendable` because they are C pointers, and a
    /// slot is used by one evaluation at a time: it passes between threads only through `idle`.
    private struct Slot: @unchecked Sendable {
        let context: xmlXPathContextPtr
        let compiled: xmlXPathCompExprPtr
    }

    private let expression: UnsafeMutablePointer<xmlChar>
    /// Namespace bindings as libxml2 `xmlNs` records, handed to each evaluation through
    /// `xmlXPathContext.namespaces` (no hash table to fill per evaluation).
    private let namespaces: UnsafeMutablePointer<xmlNsPtr?>
    private let namespaceCount: Int
    /// Evaluation slots not in use.
    private let idle = Mutex<[Slot]>([])

    init(_ expression: String, namespaces bindings: [String: String]) throws(XMLError) {
        self.expression = xmlCharStrdup(expression)
        namespaceCount = bindings.count
        namespaces = .allocate(capacity: max(1, bindings.count))
        for (i, (prefix, uri)) in bindings.sorted(by: { $0.key < $1.key }).enumerated() {
            namespaces[i] = xmlNewNs(nil, uri, prefix)
        }
        let slot = try makeSlot()
        // A trial evaluation against an empty document reports what only evaluation finds:
        // undefined namespace prefixes, unknown functions or variables, type errors.
        if let probe = xmlReadMemory("<x/>", 4, nil, nil, 0) {
            defer { xmlFreeDoc(probe) }
            prepare(slot.context, doc: probe, node: xmlDocGetRootElement(probe))
            let result = xmlXPathCompiledEval(slot.compiled, slot.context)
            xmlXPathFreeObject(result)
            let failed = result == nil || slot.context.pointee.lastError.code != 0
            let error = failed ? Self.error(slot.context, expression) : nil
            reset(slot.context)
            if let error {
                free(slot)
                throw error
            }
        }
        idle.withLock { $0.append(slot) }
    }

    deinit {
        idle.withLock { slots in
            for slot in slots { free(slot) }
        }
        for i in 0..<namespaceCount { xmlFreeNs(namespaces[i]) }
        namespaces.deallocate()
        xgw_xmlFree(expression)
    }

    private func makeSlot() throws(XMLError) -> Slot {
        guard let context = xmlXPathNewContext(nil) else {
            throw XMLError(.invalidPath, message: "cannot create an XPath context")
        }
        context.pointee.error = silentStructuredError
        guard let compiled = xmlXPathCtxtCompile(context, expression) else {
            let error = Self.error(context, String(cString: expression))
            xmlXPathFreeContext(context)
            throw error
        }
        return Slot(context: context, compiled: compiled)
    }

    private func free(_ slot: Slot) {
        xmlXPathFreeCompExpr(slot.compiled)
        xmlXPathFreeContext(slot.context)
    }

    private static func error(_ context: xmlXPathContextPtr, _ expression: String) -> XMLError {
        var message = context.pointee.lastError.message.map { LibXML.trimmed(String(cString: $0)) }
            ?? "invalid XPath expression"
        message += " in XPath expression \(expression)"
        if context.pointee.lastError.code != 0, context.pointee.lastError.int1 > 0 {
            message += " at offset \(context.pointee.lastError.int1)"
        }
        return XMLError(.invalidPath, message: message)
    }

    private func prepare(_ context: xmlXPathContextPtr, doc: xmlDocPtr?, node: xmlNodePtr?) {
        xmlResetError(&context.pointee.lastError)
        context.pointee.doc = doc
        context.pointee.node = node
        context.pointee.namespaces = namespaceCount > 0 ? namespaces : nil
        context.pointee.nsNr = Int32(namespaceCount)
        context.pointee.contextSize = -1
        context.pointee.proximityPosition = -1
    }

    private func reset(_ context: xmlXPathContextPtr) {
        context.pointee.doc = nil
        context.pointee.node = nil
        context.pointee.namespaces = nil
        context.pointee.nsNr = 0
        xmlResetError(&context.pointee.lastError)
    }

    /// Evaluates with `node` as the context node and hands the result (nil on a runtime error)
    /// to `body` before freeing it.
    func evaluate<R>(_ node: XMLNode, _ body: (xmlXPathObjectPtr?) -> R) -> R {
        let slot: Slot
        if let reused = idle.withLock({ $0.popLast() }) {
            slot = reused
        } else {
            LibXML.prepareThread()
            // The expression compiled once already, so this cannot fail but for memory.
            guard let made = try? makeSlot() else { return body(nil) }
            slot = made
        }
        prepare(slot.context, doc: node.document.pointer, node: node.pointer)
        let object = xmlXPathCompiledEval(slot.compiled, slot.context)
        defer {
            xmlXPathFreeObject(object)
            reset(slot.context)
            idle.withLock { $0.append(slot) }
        }
        return body(object)
    }

    /// The nodes of a node-set result (namespace nodes, which libxml2 copies into the result and
    /// frees with it, are left out).
    static func nodes(_ object: xmlXPathObjectPtr?) -> [xmlNodePtr] {
        guard let object, object.pointee.type == XPATH_NODESET || object.pointee.type == XPATH_XSLT_TREE,
              let set = object.pointee.nodesetval, let table = set.pointee.nodeTab else { return [] }
        var result: [xmlNodePtr] = []
        result.reserveCapacity(Int(set.pointee.nodeNr))
        for i in 0..<Int(set.pointee.nodeNr) {
            if let n = table[i], n.pointee.type != XML_NAMESPACE_DECL { result.append(n) }
        }
        return result
    }
}

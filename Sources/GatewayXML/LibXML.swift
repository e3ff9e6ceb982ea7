import CLibXML2

/// Process-wide libxml2 set-up, done once (Swift globals are initialised lazily and thread-safely).
///
/// - `xmlInitParser()` must run before libxml2 is used from several threads.
/// - The external entity loader is replaced by one that refuses everything: no DTD, external
///   entity or XInclude is ever read from a file or the network, whatever a document says.
///   (Documents are parsed from memory or from descriptors we open ourselves, which do not go
///   through the loader.)
private let libxml2Initialized: Void = {
    xmlInitParser()
    xmlSetExternalEntityLoader { _, _, _ in nil }
}()

enum LibXML {
    /// Ensures the one-time set-up ran and silences libxml2's process-wide error output on the
    /// calling thread (the structured handler is thread-local in this build, and only a fallback:
    /// our parser contexts carry their own handler).
    @inline(__always)
    static func prepareThread() {
        _ = libxml2Initialized
        xmlSetStructuredErrorFunc(nil, silentStructuredError)
    }

    /// A libxml2 message, trimmed of the trailing newline and spaces.
    static func message(_ error: UnsafePointer<xmlError>?) -> String {
        guard let error, let m = error.pointee.message else { return "XML error" }
        return trimmed(String(cString: m))
    }

    static func trimmed(_ s: String) -> String {
        var scalars = Substring(s).unicodeScalars
        while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() }
        while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

/// Structured error handler that drops everything (used where errors are read back otherwise).
let silentStructuredError: xmlStructuredErrorFunc = { _, _ in }

extension UnsafePointer<xmlChar> {
    @inline(__always) var string: String { String(cString: self) }
}

extension UnsafeMutablePointer<xmlChar> {
    @inline(__always) var string: String { String(cString: self) }
}

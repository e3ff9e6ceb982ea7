/// A problem found while parsing XML, compiling a path or streaming records.
///
/// `message` is libxml2's own message (trimmed) or one of ours; it never quotes document content
/// beyond what libxml2 itself says (libxml2 names elements and entities, never text values).
public struct XMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is, so that callers can choose an exit code or an error code.
    public enum Kind: String, Sendable, Hashable {
        /// The document is not well-formed XML (or not in a supported encoding).
        case malformed
        /// The document declares an entity (rejected before any expansion).
        case entityDeclaration
        /// The document (or one streamed record) is larger than the configured limit.
        case tooLarge
        /// Elements nest deeper than the configured limit.
        case tooDeep
        /// An element has more attributes than the configured limit.
        case tooManyAttributes
        /// The document has more elements than the configured limit.
        case tooManyElements
        /// The document's tree would take more memory than the configured budget
        /// (`XMLDocument.Options.maxTreeBytes`).
        case tooMuchMemory
        /// An XPath expression does not compile or uses an unbound prefix.
        case invalidPath
        /// The input could not be opened or read.
        case io
    }

    public var kind: Kind
    /// 1-based line of the problem, when known.
    public var line: Int?
    /// 1-based column of the problem, when known.
    public var column: Int?
    public var message: String

    public init(_ kind: Kind, message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        var s = message
        if let line {
            s += " (line \(line)"
            if let column { s += ", column \(column)" }
            s += ")"
        }
        return s
    }
}

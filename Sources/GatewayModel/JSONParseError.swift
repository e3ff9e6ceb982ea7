/// Why and where a JSON document was rejected by `JSONParser`.
///
/// The message never quotes document content (the document may carry personal data): it names
/// the rule that was broken, and the position says where.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, independent of the document's content.
    public enum Reason: Sendable, Hashable {
        case unexpectedEndOfInput
        case unexpectedCharacter
        case invalidLiteral
        case nonFiniteNumber
        case comment
        case trailingComma
        case invalidNumber
        case leadingZero
        case controlCharacterInString
        case invalidEscape
        case loneSurrogate
        case invalidUTF8
        case duplicateMemberName
        case tooDeep(maxDepth: Int)
        case tooManyValues(maxValues: Int)
        case tooMuchMemory(maxBytes: Int)
        case trailingContent
    }

    public var reason: Reason
    /// Byte offset of the offending byte in the input (0-based, counting a BOM if there was one).
    public var offset: Int
    /// 1-based line (lines end at LF).
    public var line: Int
    /// 1-based column, counted in Unicode scalars from the start of the line.
    public var column: Int

    public init(reason: Reason, offset: Int, line: Int, column: Int) {
        self.reason = reason
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// Human-readable explanation, without document content.
    public var message: String {
        switch reason {
        case .unexpectedEndOfInput: "unexpected end of input"
        case .unexpectedCharacter: "unexpected character"
        case .invalidLiteral: "invalid literal (only true, false and null are allowed)"
        case .nonFiniteNumber: "NaN and Infinity are not JSON numbers"
        case .comment: "comments are not allowed in JSON"
        case .trailingComma: "trailing comma"
        case .invalidNumber: "invalid number syntax"
        case .leadingZero: "numbers must not have leading zeros"
        case .controlCharacterInString: "unescaped control character in string"
        case .invalidEscape: "invalid escape sequence in string"
        case .loneSurrogate: "lone surrogate in \\u escape"
        case .invalidUTF8: "invalid UTF-8"
        case .duplicateMemberName: "duplicate member name in object"
        case .tooDeep(let maxDepth): "nesting deeper than \(maxDepth)"
        case .tooManyValues(let maxValues): "more than \(maxValues) values in the document"
        case .tooMuchMemory(let maxBytes):
            "the document would take more than \(maxBytes % (1 << 20) == 0 ? "\(maxBytes >> 20) MiB" : "\(maxBytes) bytes") of memory"
        case .trailingContent: "unexpected content after the JSON value"
        }
    }

    public var description: String { "JSON parse error at line \(line), column \(column): \(message)" }

    /// The `malformed-document` record error of cli.md, located by line and column.
    public var recordError: RecordError {
        RecordError(.malformedDocument, message: "invalid JSON: " + message, line: line, column: column)
    }

    /// The same, naming where the document came from (`source` of the error).
    public func recordError(source: String?) -> RecordError {
        var error = recordError
        error.source = source
        return error
    }
}

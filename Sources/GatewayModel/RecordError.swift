/// One problem with one record (or with a whole document), as `cli.md` shapes it:
/// `{"path":"/vehicle/plate","source":"/root/body/vio[4]/hphm","code":"invalid-plate","message":"…"}`.
///
/// `message` must never contain personal data unmasked (names, ID numbers): build it with
/// `Masking` when it quotes a value.
public struct RecordError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error code of formats.md / cli.md (`missing-field`, `invalid-plate`, ...).
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let malformedDocument: Code = "malformed-document"
        public static let unknownFormat: Code = "unknown-format"
        public static let sourceError: Code = "source-error"
        public static let missingField: Code = "missing-field"
        public static let invalidPlate: Code = "invalid-plate"
        public static let invalidDatetime: Code = "invalid-datetime"
        public static let invalidAmount: Code = "invalid-amount"
        public static let invalidIDNumber: Code = "invalid-id-number"
        public static let invalidCreditCode: Code = "invalid-credit-code"
        public static let unknownCode: Code = "unknown-code"
        public static let invalidValue: Code = "invalid-value"
        /// Domain rule: a decided, executed or closed case names fewer than two officers.
        public static let insufficientOfficers: Code = "insufficient-officers"
    }

    public var code: Code
    /// JSON Pointer of the canonical member concerned, when there is one.
    public var path: String?
    /// Where the bad value stood in the input: an XPath (XML) or a JSON Pointer (JSON).
    public var source: String?
    /// Human-readable explanation; masked (no personal data).
    public var message: String
    /// 1-based line and column, for errors that the parser located (malformed documents).
    public var line: Int?
    public var column: Int?

    public init(
        _ code: Code, path: String? = nil, source: String? = nil, message: String,
        line: Int? = nil, column: Int? = nil
    ) {
        self.code = code
        self.path = path
        self.source = source
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        var s = code.rawValue
        if let path { s += " at \(path)" }
        if let source { s += " (source \(source))" }
        return s + ": " + message
    }

    /// The JSON object of cli.md's `errors[]` member.
    public var json: JSONValue {
        var o = JSONObject()
        if let path { o["path"] = .string(path) }
        if let source { o["source"] = .string(source) }
        o["code"] = .string(code.rawValue)
        o["message"] = .string(message)
        if let line { o["line"] = .number(JSONNumber(line)) }
        if let column { o["column"] = .number(JSONNumber(column)) }
        return .object(o)
    }
}

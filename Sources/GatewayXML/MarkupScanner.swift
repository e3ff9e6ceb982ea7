/// A linear pre-scan of XML bytes that enforces the limits libxml2 cannot enforce cheaply itself:
/// attributes per element and elements per document.
///
/// libxml2 2.9 checks each attribute of a start tag against every earlier one (and appends each
/// to the end of the element's attribute list), so one element with n attributes costs O(n²)
/// before any SAX callback could count them: 40,000 attributes in 380 KiB took seconds of CPU.
/// The scanner sees every byte before libxml2 does and stops the parse at the first start tag past
/// the limit, so hostile markup costs O(n).
///
/// It tracks just enough of the syntax to tell markup from content: start tags (counting `=`
/// outside quoted values), end tags, comments, CDATA sections, processing instructions and
/// declarations (`<!DOCTYPE …>` with its internal subset). It does not check well-formedness;
/// libxml2 still does. Bytes of the ASCII range are all it looks at, so it reads UTF-8, GBK and
/// GB18030 alike (their multi-byte sequences never contain `<`, `>`, `=`, `"`, `'`, `-`, `?` or `]`).
/// Input may arrive in chunks (`XMLRecordStream`): the state carries over.
struct MarkupScanner {
    struct Limits: Sendable, Hashable {
        var maxAttributesPerElement: Int
        /// nil: no limit (streaming, where records are released as they complete).
        var maxElements: Int?
    }

    enum State {
        case text
        /// After `<`.
        case open
        /// In a start tag; `quote` is the open quote of an attribute value, or 0.
        case startTag(quote: UInt8)
        /// In an end tag, up to `>`.
        case endTag
        /// After `<!`: a comment, CDATA or a declaration; `seen` bytes of `--`/`[CDATA[` matched.
        case bang(seen: Int)
        /// In a comment; `dashes` is how many `-` just preceded.
        case comment(dashes: Int)
        /// In a CDATA section; `brackets` is how many `]` just preceded.
        case cdata(brackets: Int)
        /// In a processing instruction; `question` is whether `?` just preceded.
        case pi(question: Bool)
        /// In a declaration: nesting of `[`…`]` (the internal subset) and the open quote, or 0.
        case declaration(depth: Int, quote: UInt8)
    }

    let limits: Limits
    private(set) var state = State.text
    private var attributes = 0
    private(set) var elements = 0
    /// 1-based line and column of the next byte (for the error).
    private var line = 1
    private var column = 1

    init(limits: Limits) { self.limits = limits }

    /// Scans the next chunk; returns the error of the first limit it passes (and then must not be
    /// called again).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> XMLError? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let n = bytes.count
        var i = 0
        while i < n {
            let b = base[i]
            if b == 0x0A {
                line += 1
                column = 0
            }
            column += 1
            switch state {
            case .text:
                if b == 0x3C { state = .open }  // <
            case .open:
                switch b {
                case 0x2F: state = .endTag  // </
                case 0x3F: state = .pi(question: false)  // <?
                case 0x21: state = .bang(seen: 0)  // <!
                default:
                    elements += 1
                    if let max = limits.maxElements, elements > max {
                        return failure(.tooManyElements, "the document has more than \(max) elements")
                    }
                    attributes = 0
                    state = .startTag(quote: 0)
                }
            case .startTag(let quote):
                if quote != 0 {
                    if b == quote { state = .startTag(quote: 0) }
                } else if b == 0x22 || b == 0x27 {
                    state = .startTag(quote: b)
                } else if b == 0x3D {  // =
                    attributes += 1
                    if attributes > limits.maxAttributesPerElement {
                        return failure(
                            .tooManyAttributes, "an element has more than \(limits.maxAttributesPerElement) attributes")
                    }
                } else if b == 0x3E {
                    state = .text
                }
            case .endTag:
                if b == 0x3E { state = .text }
            case .bang(let seen):
                // `<!--` (seen counts the dashes), `<![CDATA[` (seen counts from 10 on), or a declaration.
                if seen < 10 && b == 0x2D {
                    state = seen == 1 ? .comment(dashes: 0) : .bang(seen: 1)
                } else if seen == 0 && b == 0x5B {
                    state = .bang(seen: 10)
                } else if seen >= 10 && seen < 16 && b == Self.cdataOpen[seen - 10] {
                    state = seen == 15 ? .cdata(brackets: 0) : .bang(seen: seen + 1)
                } else {
                    state = Self.declaration(depth: 0, quote: 0, b)
                }
            case .comment(let dashes):
                if b == 0x2D {
                    state = .comment(dashes: dashes + 1)
                } else {
                    state = b == 0x3E && dashes >= 2 ? .text : .comment(dashes: 0)
                }
            case .cdata(let brackets):
                if b == 0x5D {
                    state = .cdata(brackets: brackets + 1)
                } else {
                    state = b == 0x3E && brackets >= 2 ? .text : .cdata(brackets: 0)
                }
            case .pi(let question):
                state = b == 0x3E && question ? .text : .pi(question: b == 0x3F)
            case .declaration(let depth, let quote):
                state = Self.declaration(depth: depth, quote: quote, b)
            }
            i += 1
            // Skip at once the bytes that cannot change the state (line ends go through the switch,
            // which counts them): text up to the next `<`; in a start tag, names and white space up
            // to a quote, `=` or `>`, or a quoted value up to its closing quote; an end tag up to
            // `>`. Most of a document is these runs (element names included: issue 18).
            switch state {
            case .text:
                while i < n, base[i] != 0x3C, base[i] != 0x0A {
                    i += 1
                    column += 1
                }
            case .startTag(let quote) where quote != 0:
                while i < n, base[i] != quote, base[i] != 0x0A {
                    i += 1
                    column += 1
                }
            case .startTag:
                while i < n {
                    let c = base[i]
                    if c == 0x22 || c == 0x27 || c == 0x3D || c == 0x3E || c == 0x0A { break }
                    i += 1
                    column += 1
                }
            case .endTag:
                while i < n, base[i] != 0x3E, base[i] != 0x0A {
                    i += 1
                    column += 1
                }
            default:
                break
            }
        }
        return nil
    }

    private static let cdataOpen = Array("CDATA[".utf8)

    /// The state after byte `b` inside a declaration.
    private static func declaration(depth: Int, quote: UInt8, _ b: UInt8) -> State {
        if quote != 0 { return .declaration(depth: depth, quote: b == quote ? 0 : quote) }
        switch b {
        case 0x22, 0x27: return .declaration(depth: depth, quote: b)
        case 0x5B: return .declaration(depth: depth + 1, quote: 0)
        case 0x5D: return .declaration(depth: Swift.max(0, depth - 1), quote: 0)
        case 0x3E where depth == 0: return .text
        default: return .declaration(depth: depth, quote: 0)
        }
    }

    private func failure(_ kind: XMLError.Kind, _ message: String) -> XMLError {
        XMLError(kind, message: message, line: line, column: column)
    }
}

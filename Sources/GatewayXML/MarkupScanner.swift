#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
    ///
    /// The state lives in locals while scanning, runs that cannot change it are skipped with
    /// `memchr` (text up to `<`, a quoted value up to its quote, an end tag up to `>`) or a tight
    /// loop (a start tag's names up to a quote, `=` or `>`), and line and column are worked out
    /// from the newlines of the chunk only at its end or at an error: stepping the state machine
    /// and the position byte by byte took about 2 ns a byte, 4% of translating sc-traffic-xml
    /// (issue 18). `MarkupScannerTests` compares it with the byte-by-byte machine.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> XMLError? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let n = bytes.count
        var state = self.state
        var attributes = self.attributes
        var elements = self.elements
        var i = 0
        defer {
            self.state = state
            self.attributes = attributes
            self.elements = elements
        }
        while i < n {
            switch state {
            case .text:
                guard let lt = memchr(base + i, 0x3C, n - i) else {
                    i = n
                    continue
                }
                i = UnsafeRawPointer(lt).assumingMemoryBound(to: UInt8.self) - base + 1
                state = .open
                continue
            case .startTag(let quote) where quote != 0:
                guard let q = memchr(base + i, Int32(quote), n - i) else {
                    i = n
                    continue
                }
                i = UnsafeRawPointer(q).assumingMemoryBound(to: UInt8.self) - base + 1
                state = .startTag(quote: 0)
                continue
            case .startTag:
                var c = base[i]
                while c != 0x22 && c != 0x27 && c != 0x3D && c != 0x3E {
                    i += 1
                    guard i < n else { break }
                    c = base[i]
                }
                guard i < n else { continue }
                if c == 0x3D {  // =
                    attributes += 1
                    if attributes > limits.maxAttributesPerElement {
                        return failure(
                            .tooManyAttributes, "an element has more than \(limits.maxAttributesPerElement) attributes", base, at: i)
                    }
                } else {
                    state = c == 0x3E ? .text : .startTag(quote: c)
                }
                i += 1
                continue
            case .endTag:
                guard let gt = memchr(base + i, 0x3E, n - i) else {
                    i = n
                    continue
                }
                i = UnsafeRawPointer(gt).assumingMemoryBound(to: UInt8.self) - base + 1
                state = .text
                continue
            default:
                break
            }
            let b = base[i]
            switch state {
            case .open:
                switch b {
                case 0x2F: state = .endTag  // </
                case 0x3F: state = .pi(question: false)  // <?
                case 0x21: state = .bang(seen: 0)  // <!
                default:
                    elements += 1
                    if let max = limits.maxElements, elements > max {
                        return failure(.tooManyElements, "the document has more than \(max) elements", base, at: i)
                    }
                    attributes = 0
                    state = .startTag(quote: 0)
                }
            case .bang, .comment, .cdata, .pi, .declaration:
                state = Self.next(state, after: b)
            case .text, .startTag, .endTag:
                break
            }
            i += 1
        }
        advance(base, count: n)
        return nil
    }

    /// Moves `line` and `column` past `count` bytes from `base`.
    private mutating func advance(_ base: UnsafePointer<UInt8>, count: Int) {
        // Eight bytes at a time: XOR turns newlines into zero bytes, and the masked add marks
        // exactly the zero bytes with 0x80 (no carry crosses a byte); then the last newline from
        // the end. A byte loop here was not vectorised and cost 1.2 ns a byte.
        var newlines = 0
        var k = 0
        let raw = UnsafeRawPointer(base)
        while k + 8 <= count {
            let w = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
            let zeros = ~(((w & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | w | 0x7F7F_7F7F_7F7F_7F7F)
            newlines &+= zeros.nonzeroBitCount
            k += 8
        }
        while k < count {
            if base[k] == 0x0A { newlines += 1 }
            k += 1
        }
        line += newlines
        guard newlines > 0 else {
            column += count
            return
        }
        var last = count - 1
        while base[last] != 0x0A { last -= 1 }
        column = count - last
    }

    /// The state after byte `b` in a comment, CDATA section, processing instruction or
    /// declaration (or just after `<!`); other states are returned as they are.
    static func next(_ state: State, after b: UInt8) -> State {
        switch state {
        case .bang(let seen):
            // `<!--` (seen counts the dashes), `<![CDATA[` (seen counts from 10 on), or a declaration.
            if seen < 10 && b == 0x2D { return seen == 1 ? .comment(dashes: 0) : .bang(seen: 1) }
            if seen == 0 && b == 0x5B { return .bang(seen: 10) }
            if seen >= 10 && seen < 16 && b == cdataOpen[seen - 10] { return seen == 15 ? .cdata(brackets: 0) : .bang(seen: seen + 1) }
            return declaration(depth: 0, quote: 0, b)
        case .comment(let dashes):
            if b == 0x2D { return .comment(dashes: dashes + 1) }
            return b == 0x3E && dashes >= 2 ? .text : .comment(dashes: 0)
        case .cdata(let brackets):
            if b == 0x5D { return .cdata(brackets: brackets + 1) }
            return b == 0x3E && brackets >= 2 ? .text : .cdata(brackets: 0)
        case .pi(let question):
            return b == 0x3E && question ? .text : .pi(question: b == 0x3F)
        case .declaration(let depth, let quote):
            return declaration(depth: depth, quote: quote, b)
        case .text, .open, .startTag, .endTag:
            return state
        }
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

    /// The error at byte `index` of the chunk at `base`: the position is the next byte's, as
    /// `line` and `column` say.
    private mutating func failure(_ kind: XMLError.Kind, _ message: String, _ base: UnsafePointer<UInt8>, at index: Int) -> XMLError {
        advance(base, count: index + 1)
        return XMLError(kind, message: message, line: line, column: column)
    }
}

import Testing
@testable import GatewayXML

/// `MarkupScanner.scan` skips runs with `memchr` and works out line and column only at the end of a
/// chunk or at an error (issue 18): it must answer exactly as the byte-by-byte state machine it
/// replaced (kept below as `ByteByByteScanner`, the oracle; it shares with the scanner only the
/// transitions inside comments, CDATA, processing instructions and declarations, which issue 18
/// left as they were) on markup of every kind, whole or in chunks: the same error with the same
/// line and column, the same element count and end state.
@Suite struct MarkupScannerTests {
    typealias State = MarkupScanner.State

    /// The scanner as it was before issue 18, one byte per step.
    struct ByteByByteScanner {
        let limits: MarkupScanner.Limits
        var state = State.text
        var attributes = 0
        var elements = 0
        var line = 1
        var column = 1

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
                            return XMLError(.tooManyElements, message: "the document has more than \(max) elements", line: line, column: column)
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
                            return XMLError(
                                .tooManyAttributes, message: "an element has more than \(limits.maxAttributesPerElement) attributes",
                                line: line, column: column)
                        }
                    } else if b == 0x3E {
                        state = .text
                    }
                case .endTag:
                    if b == 0x3E { state = .text }
                case .bang, .comment, .cdata, .pi, .declaration:
                    // Unchanged by issue 18: shared with the scanner.
                    state = MarkupScanner.next(state, after: b)
                }
                i += 1
                // Text between tags is most of a document: skip to the next `<` (or line end) at once.
                if case .text = state {
                    while i < n, base[i] != 0x3C, base[i] != 0x0A {
                        i += 1
                        column += 1
                    }
                }
            }
            return nil
        }

    }

    static let pieces = [
        "<", ">", "/", "?", "!", "-", "[", "]", "\"", "'", "=", "a", " ", "\n", "\r\n", "é", "川", "<!--", "-->", "<![CDATA[",
        "]]>", "<?", "?>", "<!DOCTYPE r [", "<!ELEMENT r ANY>", "<a ", "</a>", "<a/>", " x=\"1\"", " y='=>'", "text ",
    ]

    /// What a scan of `chunks` ends with: the error, or the element count and state.
    static func outcome(_ chunks: [[UInt8]], _ limits: MarkupScanner.Limits, oracle: Bool) -> String {
        var fast = MarkupScanner(limits: limits)
        var slow = ByteByByteScanner(limits: limits)
        for chunk in chunks {
            let error = chunk.withUnsafeBytes { oracle ? slow.scan($0) : fast.scan($0) }
            if let error { return "\(error.kind) \(error.message) at \(error.line ?? 0):\(error.column ?? 0)" }
        }
        return oracle ? "\(slow.elements) elements, \(slow.state)" : "\(fast.elements) elements, \(fast.state)"
    }

    @Test func answersAsTheByteByByteMachine() {
        var rng = SystemRandomNumberGenerator()
        var disagreements: [String] = []
        var errors = 0
        for _ in 0..<4_000 {
            let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
            let bytes = Array(text.utf8)
            let limits = MarkupScanner.Limits(
                maxAttributesPerElement: Int.random(in: 0...3, using: &rng), maxElements: Bool.random(using: &rng) ? nil : Int.random(in: 0...5, using: &rng))
            // The oracle reads the whole text; the scanner whole, and cut at random places.
            let expected = Self.outcome([bytes], limits, oracle: true)
            var cuts = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Int.random(in: 0...bytes.count, using: &rng) }.sorted()
            cuts = [0] + cuts + [bytes.count]
            let chunks = zip(cuts, cuts.dropFirst()).map { Array(bytes[$0..<$1]) }
            for got in [Self.outcome([bytes], limits, oracle: false), Self.outcome(chunks, limits, oracle: false)] where got != expected {
                disagreements.append("\(text.debugDescription) \(limits): \(got) ≠ \(expected)")
            }
            if expected.hasPrefix("too") { errors += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
        // Both outcomes were compared, errors with their positions included.
        #expect(errors > 100)
    }

    @Test func positionsAreTheNextBytes() throws {
        var scanner = MarkupScanner(limits: .init(maxAttributesPerElement: 1, maxElements: nil))
        let text = Array("<r>\n  <a x=\"1\" y=\"2\"/></r>".utf8)
        let error = try #require(text.withUnsafeBytes { scanner.scan($0) })
        #expect(error.kind == .tooManyAttributes && error.line == 2 && error.column == 14)
    }
}

import CLibXML2

/// Plain-text paragraphs of an HTML fragment (bulletin bodies), read with libxml2's HTML parser.
public enum HTMLText {
    /// The paragraphs of `fragment`, as formats.md (`cq-bulletin-json`) defines them:
    /// - each `<p>` is a paragraph, and two consecutive `<br>` (white space between them allowed)
    ///   also end one; a single `<br>` is a line break (`\n`) inside its paragraph;
    /// - tags are dropped; entities are decoded exactly once (`&lt;b&gt;` stays the text `<b>`,
    ///   `&nbsp;` is U+00A0); `<script>` and `<style>` contents are removed; comments too;
    /// - each paragraph is trimmed of leading and trailing white space (including U+3000 and
    ///   U+00A0) and empty paragraphs are dropped; text without `<p>` or `<br><br>` is one
    ///   paragraph.
    ///
    /// The HTML parser never touches the network (`HTML_PARSE_NONET`) and reports nothing;
    /// broken markup is repaired the way libxml2 repairs it.
    public static func paragraphs(fromFragment fragment: String) -> [String] {
        LibXML.prepareThread()
        var utf8 = Array(fragment.utf8)
        guard !utf8.isEmpty else { return [] }
        let options = Int32(bitPattern: HTML_PARSE_NONET.rawValue | HTML_PARSE_NOERROR.rawValue
            | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_COMPACT.rawValue | HTML_PARSE_IGNORE_ENC.rawValue)
        let doc = utf8.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                htmlReadMemory($0, Int32(buffer.count), nil, "UTF-8", options)
            }
        }
        guard let doc else { return [] }
        defer { xmlFreeDoc(doc) }
        var collector = Collector()
        collector.walk(doc.pointee.children)
        collector.endParagraph()
        return collector.paragraphs
    }

    private struct Collector {
        var paragraphs: [String] = []
        var current = ""
        var afterBreak = false

        mutating func endParagraph() {
            let text = LibXML.trimmed(current)
            if !text.isEmpty { paragraphs.append(text) }
            current = ""
            afterBreak = false
        }

        mutating func walk(_ first: xmlNodePtr?) {
            var node = first
            while let n = node {
                switch n.pointee.type {
                case XML_ELEMENT_NODE:
                    element(n)
                case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                    if let content = n.pointee.content {
                        let text = String(cString: content)
                        current += text
                        if !text.unicodeScalars.allSatisfy(\.properties.isWhitespace) { afterBreak = false }
                    }
                default:
                    break // comments, processing instructions, DTD
                }
                node = n.pointee.next
            }
        }

        private mutating func element(_ n: xmlNodePtr) {
            let name = n.pointee.name.map { String(cString: $0) } ?? ""
            switch name {
            case "script", "style":
                return
            case "p":
                endParagraph()
                walk(n.pointee.children)
                endParagraph()
            case "br":
                if afterBreak {
                    endParagraph()
                } else {
                    current += "\n"
                    afterBreak = true
                }
            default:
                walk(n.pointee.children)
            }
        }
    }
}

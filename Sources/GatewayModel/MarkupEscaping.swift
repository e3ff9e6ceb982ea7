/// Text written into XML or HTML markup by hand (no libxml2 tree): the one escaper for the
/// renderer's HTML fragments (`Renderer.html`) and the JUnit report of `xgw fixtures test`.
/// `XMLWriter` needs none: libxml2's serialiser escapes what it writes.
public enum MarkupEscaping {
    /// HTML element content: `&`, `<`, `>` as entities, a line feed as `lineBreak` (e.g. `<br>`),
    /// everything else as it is.
    public static func html(_ text: String, lineBreak: String = "\n") -> String {
        escape(text, quote: false, lineBreak: lineBreak, dropControls: false)
    }

    /// XML 1.0 content and attribute values: `&`, `<`, `>`, `"` as entities; C0 controls XML 1.0
    /// cannot hold are dropped (tab and line feed are kept).
    public static func xml(_ text: String) -> String {
        escape(text, quote: true, lineBreak: "\n", dropControls: true)
    }

    private static func escape(_ text: String, quote: Bool, lineBreak: String, dropControls: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quote: out += "&quot;"
            case "\n": out += lineBreak
            case "\t": out.unicodeScalars.append(scalar)
            default: if !dropControls || scalar.value >= 0x20 { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

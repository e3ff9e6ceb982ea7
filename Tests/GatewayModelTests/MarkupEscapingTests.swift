import GatewayModel
import Testing

/// The one hand-written markup escaper (the renderer's HTML, the fixtures' JUnit report): exactly the
/// bytes both wrote before they shared it.
@Suite struct MarkupEscapingTests {
    static let sample = "a&b <c> \"d\" 'e'\tf\ng\r\u{1}h 渝"

    @Test func htmlEscapesTheThreeMarkupCharactersAndWritesLineFeedsAsAsked() {
        #expect(MarkupEscaping.html(Self.sample, lineBreak: "<br>") == "a&amp;b &lt;c&gt; \"d\" 'e'\tf<br>g\r\u{1}h 渝")
        #expect(MarkupEscaping.html("x\ny") == "x\ny")
        #expect(MarkupEscaping.html("&amp;") == "&amp;amp;", "escaped once more: the text is text")
    }

    @Test func xmlAlsoEscapesQuotesAndDropsWhatXMLCannotHold() {
        #expect(MarkupEscaping.xml(Self.sample) == "a&amp;b &lt;c&gt; &quot;d&quot; 'e'\tf\ngh 渝")
        #expect(MarkupEscaping.xml("") == "")
    }
}

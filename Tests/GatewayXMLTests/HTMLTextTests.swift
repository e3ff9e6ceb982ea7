import Testing
@testable import GatewayXML

@Suite struct HTMLTextTests {
    @Test func specExample() {
        #expect(HTMLText.paragraphs(fromFragment: "<p>第一段。</p><p>第二段，含&nbsp;实体与<b>加粗</b>。</p>")
            == ["第一段。", "第二段，含\u{00A0}实体与加粗。"])
    }

    @Test(arguments: [
        ("8月3日起值守。<br><br>值守电话畅通。<br><br>遇险情立即上报。", ["8月3日起值守。", "值守电话畅通。", "遇险情立即上报。"]),
        ("一<br>\n <br/>二", ["一", "二"]),
        ("一<br>二", ["一\n二"]),
        ("没有段落标记。", ["没有段落标记。"]),
        ("请<b>务必</b>于<span style=\"color:red\">8月3日</span>前到岗。", ["请务必于8月3日前到岗。"]),
        ("<p>正文中的&lt;b&gt;不是标签。</p><p>&amp;lt;只解码一次&amp;gt;</p>", ["正文中的<b>不是标签。", "&lt;只解码一次&gt;"]),
        ("<style>p { color: red; }</style><p>一</p><script>alert('二')</script><p>三</p>", ["一", "三"]),
        ("<p>&nbsp;&nbsp;一。</p><p>值守电话&nbsp;24小时。&nbsp;</p>", ["一。", "值守电话\u{00A0}24小时。"]),
        ("<p>&#20013;&#x5171;&quot;新盛&quot;&amp;&#x4EFB;&#24066;</p>", ["中共\"新盛\"&任市"]),
        ("<p></p><p>一</p><p>&nbsp;</p><p> </p><p>二</p><p><br></p>", ["一", "二"]),
        ("\n<p>\n  一\n</p>\n\n<p>\u{3000}\u{3000}二</p>\n", ["一", "二"]),
        ("<p>一</p><p>二<br><br>三</p>", ["一", "二", "三"]),
        ("<!-- 注释 --><p>一</p>", ["一"]),
        ("", []),
        ("   ", []),
    ])
    func paragraphRules(_ html: String, _ expected: [String]) {
        #expect(HTMLText.paragraphs(fromFragment: html) == expected)
    }

    @Test func ignoresCharsetDeclarationsInsideTheFragment() {
        #expect(HTMLText.paragraphs(fromFragment: "<meta charset=\"gbk\"><p>第一段。</p><p>任市</p>") == ["第一段。", "任市"])
        #expect(HTMLText.paragraphs(fromFragment: "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"><p>新盛</p>")
            == ["新盛"])
    }

    @Test func neverFetchesAnything() {
        let html = "<p>一<img src=\"file:///etc/passwd\"><iframe src=\"file:///etc/passwd\"></iframe></p>"
        #expect(HTMLText.paragraphs(fromFragment: html) == ["一"])
    }
}

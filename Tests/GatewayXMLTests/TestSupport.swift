import Foundation
@testable import GatewayXML

/// Documents shared by several tests.
enum Sample {
    /// The `sc-traffic-xml` example of formats.md (UTF-8 here; GBK variants are built from bytes).
    static let traffic = """
        <?xml version="1.0" encoding="UTF-8"?>
        <root>
          <head><code>1</code><message>查询成功</message><rownum>2</rownum><jkid>04C03</jkid></head>
          <body>
            <vio id="0">
              <xh>5117230000123456</xh>
              <hphm>川S·12345</hphm>
              <wfdz>任市镇中心街与滨河路交叉口</wfdz>
              <dsr>张三</dsr>
            </vio>
            <vio id="1">
              <xh>5117230000123457</xh>
              <hphm>川S·54321</hphm>
            </vio>
          </body>
        </root>
        """

    /// The `cq-case-xml` example (default namespace, CDATA, repeated elements).
    static let caseList = """
        <?xml version="1.0" encoding="UTF-8"?>
        <CaseList xmlns="urn:cq:zhzf:case:1">
          <Case id="LP2023000123" status="已结案" updated="2023-07-11T09:30:00+08:00">
            <DocNo>梁交执罚〔2023〕45号</DocNo>
            <Field>交通运输</Field>
            <Party kind="ORG"><Name>重庆某某物流有限公司</Name><USCC>91500155MA5U7T2L33</USCC></Party>
            <Facts><![CDATA[2023年7月5日，当事人所属车辆<超限>……]]></Facts>
            <Basis>《中华人民共和国公路法》第七十六条</Basis>
            <Penalty type="罚款" amount="3000.00"/>
            <Authority code="11500155MB0000000D">重庆市梁平区交通运输综合行政执法支队</Authority>
            <Officer certNo="50015501001">孙七</Officer>
            <Officer certNo="50015501002">周八</Officer>
            <AreaCode>500155</AreaCode>
          </Case>
        </CaseList>
        """

    /// `<?xml version="1.0" encoding="ENC"?><root><wfdz>任市</wfdz><dsr>张三</dsr></root>` with the
    /// Chinese text in GBK bytes (the same bytes are valid GB18030).
    static func gbk(declaring encoding: String, extra: [UInt8] = []) -> [UInt8] {
        Array("<?xml version=\"1.0\" encoding=\"\(encoding)\"?>\n<root><wfdz>".utf8)
            + [0xC8, 0xCE, 0xCA, 0xD0] // 任市
            + Array("</wfdz><dsr>".utf8)
            + [0xD5, 0xC5, 0xC8, 0xFD] // 张三
            + extra
            + Array("</dsr></root>".utf8)
    }

    static func nested(depth: Int) -> String {
        String(repeating: "<a>", count: depth) + "x" + String(repeating: "</a>", count: depth)
    }

    static let billionLaughs = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [
         <!ENTITY lol "lol">
         <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
         <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
         <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
         <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
         <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
         <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
         <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
         <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
         <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
        ]>
        <lolz>&lol9;</lolz>
        """
}

/// Peak resident set size of this process (VmHWM), in bytes.
func peakRSS() -> Int? { procStatusBytes("VmHWM:") }

/// Current resident set size (VmRSS), in bytes.
func currentRSS() -> Int? { procStatusBytes("VmRSS:") }

/// A `kB` figure of /proc/self/status, in bytes.
private func procStatusBytes(_ key: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(key) {
        return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
    }
    return nil
}

/// Runs `body` and returns how long it took, in seconds.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

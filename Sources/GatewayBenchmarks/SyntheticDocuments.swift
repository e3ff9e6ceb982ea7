import Foundation

/// Realistic documents of the two traffic formats, every record different and valid.
public enum SyntheticDocuments {
    static let idNumbers = ["511723199001011233", "500228199001011235"]

    public static func scTraffic(records: Int, firstId: Int = 0) -> [UInt8] {
        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <root>
              <head><code>1</code><message>查询成功</message><rownum>\(records)</rownum><jkid>04C03</jkid></head>
              <body>

            """
        for i in 0..<records {
            s += """
                    <vio id="\(i)">
                      <xh>51172300\(String(format: "%08d", firstId + i))</xh>
                      <hphm>川S·\(String(format: "%05d", i % 100000))</hphm>
                      <hpzl>02</hpzl>
                      <wfsj>2023-07-11 08:\(String(format: "%02d", i % 60)):00.0</wfsj>
                      <xzqh>511723107</xzqh>
                      <wfdz>任市镇中心街与滨河路交叉口</wfdz>
                      <jd>107.86</jd>
                      <wd>31.08</wd>
                      <wfxw>1625</wfxw>
                      <wfxwmc>驾驶机动车违反道路交通信号灯通行的</wfxwmc>
                      <fkje>200</fkje>
                      <wfjfs>6</wfjfs>
                      <cjfs>1</cjfs>
                      <dsr>张三</dsr>
                      <jszh>\(idNumbers[0])</jszh>
                      <cjjg>511723000000</cjjg>
                      <cjjgmc>开江县公安局交通警察大队</cjjgmc>
                      <clbj>\(i % 2)</clbj>
                      <jkbj>0</jkbj>
                      <gxsj>2023-07-11 09:00:00.0</gxsj>
                    </vio>

                """
        }
        s += "  </body>\n</root>\n"
        return Array(s.utf8)
    }

    public static func cqTraffic(records: Int, firstId: Int = 0) -> [UInt8] {
        var s = "{\n  \"schema\": \"cq.traffic.violation/1\",\n  \"records\": [\n"
        for i in 0..<records {
            if i > 0 { s += ",\n" }
            s += """
                    {
                      "id": "CQ5001552023\(String(format: "%09d", firstId + i))",
                      "vehicle": { "plateNo": "渝F·A\(String(format: "%04d", i % 10000))", "plateKind": "小型汽车" },
                      "driver": { "name": "李四", "idCard": "\(idNumbers[1])" },
                      "occurredAt": \(1689035400000 + i * 1000),
                      "place": { "areaCode": "500155107", "address": "新盛镇场镇过境路K2+300", "lng": 107.86, "lat": 30.86 },
                      "offence": { "code": "1039", "text": "机动车违反规定停放、临时停车" },
                      "fine": 200.0,
                      "points": 0,
                      "mode": "ONSITE",
                      "state": "UNHANDLED",
                      "org": { "code": "500155000000", "name": "重庆市梁平区公安局交通巡逻警察支队" },
                      "updatedAt": 1689036000000
                    }
                """
        }
        s += "\n  ]\n}\n"
        return Array(s.utf8)
    }
}

@testable import GatewayModel

/// Valid canonical records of each kind, as the mappings of formats.md would produce them.
enum Samples {
    static let trafficViolationText = """
        {"kind":"traffic-violation","schemaVersion":1,"recordId":"sc-traffic:5117230000123456",
         "source":{"region":"sichuan","system":"sc-traffic","format":"sc-traffic-xml/1"},
         "updatedAt":"2023-07-11T09:00:00+08:00",
         "vehicle":{"plate":"川S12345","plateType":"02"},
         "driver":{"name":"张三","idNumber":"511723199001011233"},
         "occurredAt":"2023-07-11T08:30:00+08:00",
         "location":{"divisionCode":"511723107","address":"任市镇中心街与滨河路交叉口","longitude":107.86,"latitude":30.860},
         "violation":{"code":"1625","description":"驾驶机动车违反道路交通信号灯通行的"},
         "penalty":{"fineFen":20000,"points":6},
         "capture":"site","status":"pending",
         "agency":{"code":"511723000000","name":"开江县公安局交通警察大队"}}
        """

    static let enforcementCaseText = """
        {"kind":"enforcement-case","schemaVersion":1,"recordId":"sc-case:KJJT2023000045",
         "source":{"region":"sichuan","system":"sc-case","format":"sc-case-json/1"},
         "updatedAt":"2023-07-11T09:30:00+08:00",
         "caseNumber":"开交执罚〔2023〕45号","domain":"transport",
         "party":{"type":"organization","name":"开江县某某运输有限公司","creditCode":"91511723MA62B4K7Q1"},
         "facts":"该公司所属车辆...",
         "legalBasis":[{"law":"中华人民共和国道路运输条例","article":"第六十三条"}],
         "penalties":[{"type":"fine","amountFen":300000},{"type":"warning"}],
         "decidedOn":"2023-07-11",
         "agency":{"code":"11511723MB12345679","name":"开江县交通运输局"},
         "officers":[{"name":"王五","certificateNumber":"51172301001"},{"name":"赵六","certificateNumber":"51172301002"}],
         "jurisdiction":"511723","status":"closed"}
        """

    static let bulletinText = """
        {"kind":"bulletin","schemaVersion":1,"recordId":"sc-bulletin:KJRS-2023-007",
         "source":{"region":"sichuan","system":"sc-bulletin","format":"sc-bulletin-xml/1"},
         "updatedAt":"2023-07-11T10:05:00+08:00",
         "title":"关于开展川渝边界农村道路交通安全联合整治的通报","body":"第一段。\\n\\n第二段。",
         "issuedBy":{"org":"kaijiang-renshi","name":"中共开江县任市镇委员会"},
         "issuedAt":"2023-07-11T10:00:00+08:00",
         "audience":["liangping-xinsheng","liangping"],"priority":"urgent",
         "attachments":[{"name":"整治名单.pdf","mediaType":"application/pdf",
           "sha256":"e9f6ed2cb6c25d2bf09425a1a6a1f1263468cdc4aa87a8883fe85f6e06a763ce","size":48213}]}
        """

    static var trafficViolation: JSONValue { try! JSONParser.parse(trafficViolationText) }
    static var enforcementCase: JSONValue { try! JSONParser.parse(enforcementCaseText) }
    static var bulletin: JSONValue { try! JSONParser.parse(bulletinText) }
    static var all: [JSONValue] { [trafficViolation, enforcementCase, bulletin] }

    /// `record` with `value` placed at `pointer` (nil removes the member).
    static func changing(_ record: JSONValue, _ pointer: String, to value: JSONValue?) -> JSONValue {
        var copy = record
        let path = JSONPointer(pointer)!
        if let value { try! copy.set(value, at: path) } else { copy.removeValue(at: path) }
        return copy
    }
}

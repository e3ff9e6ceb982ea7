import Foundation
import GatewayModel
import Testing

@testable import GatewayMapping

/// Issue 16 item 9: an error message quotes a code, a date, an amount or a plate as sent (the
/// clerk must see what to correct) and masks personal data — names, ID numbers, credit codes of a
/// party, phone numbers — decided by the canonical member the value is for, not by its look.
@Suite struct ErrorMaskingTests {
    /// The first record of the traffic batch fixture with `edits` applied (element → new text).
    static func sichuanRecord(_ edits: [String: String]) throws -> String {
        var text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/Fixtures/sc-traffic-xml/002-batch-three-utf8.xml")), as: UTF8.self)
        let end = try #require(text.range(of: "</vio>"))
        var first = String(text[..<end.upperBound])
        for (element, value) in edits {
            let open = try #require(first.range(of: "<\(element)>")), close = try #require(first.range(of: "</\(element)>"))
            first.replaceSubrange(open.upperBound..<close.lowerBound, with: value)
        }
        text = first + "\n  </body>\n</root>\n"
        return text.replacingOccurrences(of: "<rownum>3</rownum>", with: "<rownum>1</rownum>")
    }

    static func errors(_ edits: [String: String]) throws -> [String: String] {
        let outcome = translate(try sichuanRecord(edits))
        #expect(outcome.records.isEmpty, "the record is rejected")
        var byPath: [String: String] = [:]
        for error in outcome.rejections.flatMap(\.errors) { byPath[error.path ?? "", default: ""] += error.message }
        return byPath
    }

    @Test func codesDatesAmountsAndPlatesAreQuotedAsSent() throws {
        let errors = try Self.errors(["jkbj": "9", "wfsj": "2023-13-11 08:30:00.0", "fkje": "两百", "hpzl": "2x", "cjfs": "7", "hphm": "川S·1234"])
        #expect(errors["/status"]?.contains("'9' is not one of 0, 1") == true, "\(errors)")
        #expect(errors["/occurredAt"]?.contains("'2023-13-11 08:30:00.0' is not a valid time") == true, "\(errors)")
        #expect(errors["/penalty/fineFen"]?.contains("'两百' is not a non-negative decimal amount") == true, "\(errors)")
        #expect(errors["/capture"]?.contains("'7' is not one of") == true, "\(errors)")
        #expect(errors["/vehicle/plate"]?.contains("川S1234") == true, "\(errors)")
        #expect(!errors.values.joined().contains("*"), "nothing masked: \(errors)")
    }

    @Test func anIDNumberIsMaskedWhereverItIsWrong() throws {
        let errors = try Self.errors(["jszh": "511723199001011234", "jkbj": "9"])
        let message = try #require(errors["/driver/idNumber"], "\(errors)")
        #expect(message.contains("511723********1234"), "\(message)")
        #expect(!errors.values.joined().contains("511723199001011234"), "\(errors)")
        #expect(errors["/status"]?.contains("'9'") == true, "the code beside it is still shown: \(errors)")
    }

    /// A transform's refusal is quoted for the member it was writing: the same value and failure
    /// are shown at a code member and masked at a name, an ID number, a credit code, a phone.
    @Test func aTransformFailureIsQuotedAsItsMemberAllows() {
        let failure = TransformFailure(code: .unknownCode, value: "张三丰", problem: "is not one of 1, 2")
        #expect(failure.message(at: "/status") == "'张三丰' is not one of 1, 2")
        #expect(failure.message(at: "/violation/code") == "'张三丰' is not one of 1, 2")
        #expect(failure.message(at: "/driver/name") == "'张**' is not one of 1, 2")
        #expect(failure.message(at: "/party/name") == "'张**' is not one of 1, 2")
        #expect(failure.message(at: "/officers/1/name") == "'张**' is not one of 1, 2")
        #expect(failure.message(at: nil) == "'张**' is not one of 1, 2", "no member known: masked")
        let id = TransformFailure(code: .invalidValue, value: "511723199001011233", problem: "is wrong")
        #expect(id.message(at: "/party/idNumber") == "'511723********1233' is wrong")
        #expect(id.message(at: "/penalties/0/amountFen") == "'511723199001011233' is wrong", "an amount is shown, whatever it looks like")
        #expect(PersonalData.quote("13812345678", at: "/party/phone") == "138****5678")
        #expect(PersonalData.quote("13812345678", at: "/location/divisionCode") == "13812345678")
        #expect(PersonalData.quote("91511723MA62B4K7Q1", at: "/party/creditCode") == "9151**********K7Q1")
        #expect(PersonalData.quote("20251330", at: "/decidedOn") == "20251330")
    }

    /// The validator's own messages: an ID number masked, a plate shown.
    @Test func theValidatorQuotesByMember() throws {
        var record = try #require(translate(scExample).records.first)
        guard case .object(var object) = record, case .object(var vehicle)? = object["vehicle"] else {
            Issue.record("not a traffic record")
            return
        }
        vehicle["plate"] = "川S1234"
        object["vehicle"] = .object(vehicle)
        object["driver"] = ["name": "张三", "idNumber": "511723199001011234"]
        record = .object(object)
        let errors = CanonicalValidator.validate(record)
        #expect(errors.first { $0.path == "/vehicle/plate" }?.message.contains("川S1234") == true, "\(errors)")
        let id = try #require(errors.first { $0.path == "/driver/idNumber" })
        #expect(id.message.contains("511723********1234") && !id.message.contains("511723199001011234"), "\(id)")
    }
}

import Testing
@testable import GatewayModel

/// Issue 17 row 3: a JSON body of tiny values is bounded by a count of values, not only by bytes
/// (a 14 MiB array of 7 million zeros cost +224 MiB before).
@Suite struct JSONLimitTests {
    @Test func theValueLimitIsInclusive() throws {
        let options = JSONParser.Options(maxValues: 5)
        _ = try JSONParser.parse(Array("[1,2,3,4]".utf8), options: options)
        _ = try JSONParser.parse(Array(#"{"a":1,"b":[2,3]}"#.utf8), options: options)
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("[1,2,3,4,5]".utf8), options: options) }
        #expect(error?.description.contains("more than 5 values") == true, "\(String(describing: error))")
    }

    @Test func aMillionAndOneZerosAreRefusedByDefault() {
        let text = "[" + String(repeating: "0,", count: 1_000_000) + "0]"
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
        #expect(error?.description.contains("more than 1000000 values") == true)
    }
}

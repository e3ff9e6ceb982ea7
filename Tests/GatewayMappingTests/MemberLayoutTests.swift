import Testing
import GatewayModel
@testable import GatewayMapping

/// `MemberLayout` lets the builder append keys no earlier rule can have written; the records must
/// be the ones the plain search-and-replace of every key gives, member for member and in order.
@Suite struct MemberLayoutTests {
    /// The builder's way before the layout: search every key, replace it or append it.
    static func searchingSet(_ value: JSONValue, at tokens: ArraySlice<String>, in object: inout JSONObject) {
        guard let first = tokens.first else { return }
        if tokens.count == 1 {
            object[first] = value
            return
        }
        if let i = object.members.firstIndex(where: { $0.key == first }), case .object(var child) = object.members[i].value {
            object.members[i].value = .null
            searchingSet(value, at: tokens.dropFirst(), in: &child)
            object.members[i].value = .object(child)
        } else {
            var child = JSONObject()
            searchingSet(value, at: tokens.dropFirst(), in: &child)
            object[first] = .object(child)
        }
    }

    /// A seeded generator (Knuth's MMIX linear congruential one, high bits), so that a failure can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 32) | (state << 32)
        }
    }

    @Test func layoutBuildsTheRecordsOfSearchingEveryKey() {
        var random = Generator(state: 18)
        let tokens = ["a", "b", "c", "kind", "source"]
        let head: [JSONObject.Member] = [.init(key: "kind", value: "k"), .init(key: "source", value: ["region": "r"])]
        var differing: [String] = []
        var appended = 0
        for _ in 0..<3000 {
            let paths = (0..<Int.random(in: 1...8, using: &random)).map { _ in
                (0..<Int.random(in: 1...3, using: &random)).map { _ in tokens.randomElement(using: &random)! }
            }
            let layout = MemberLayout(paths: paths, head: head.map { [$0.key] })
            appended += layout.entries.filter { $0.fresh == 0 }.count
            // Several records per layout, each with its own rules firing (conditions, absent values).
            for _ in 0..<4 {
                var expected = JSONObject(head)
                var actual = JSONObject(head)
                for (path, entry) in zip(paths, layout.entries) where Bool.random(using: &random) {
                    let value: JSONValue =
                        switch Int.random(in: 0..<3, using: &random) {
                        case 0: .string(path.joined(separator: "/"))
                        case 1: ["a": 1, "c": ["b": 2]]
                        default: [:]
                        }
                    Self.searchingSet(value, at: path[...], in: &expected)
                    RecordBuilder<JSONSourceNode>.set(value, at: path[...], depth: 0, entry: entry, in: &actual)
                }
                if actual != expected { differing.append("\(paths): \(JSONValue.object(actual).canonicalString) vs \(JSONValue.object(expected).canonicalString)") }
            }
        }
        #expect(differing.isEmpty, "\(differing.prefix(3))")
        #expect(appended > 3000)  // the appending path is taken (not only the searching one)
    }

    @Test func conflictsCoverPrefixesAndWholeValues() {
        let layout = MemberLayout(paths: [["vehicle", "plate"], ["vehicle", "plateType"], ["driver"], ["driver", "name"], ["status"], ["status"]])
        #expect(layout.entries.map(\.fresh) == [0, 1, 0, 2, 0, 1])
        #expect(layout.entries.map(\.capacities) == [[2], [2], [], [1], [], []])
        // Head members count as written before the rules.
        #expect(MemberLayout(paths: [["kind"], ["source", "x"]], head: MemberLayout.headKeys).entries.map(\.fresh) == [1, 2])
    }
}

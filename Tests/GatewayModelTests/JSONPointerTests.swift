import Testing
@testable import GatewayModel

@Suite struct JSONPointerTests {
    @Test func parsesAndPrintsRFC6901Text() throws {
        let pointer = try #require(JSONPointer("/a~1b/m~0n/0/"))
        #expect(pointer.tokens == ["a/b", "m~n", "0", ""])
        #expect(pointer.description == "/a~1b/m~0n/0/")
        #expect(JSONPointer("")?.isRoot == true)
        #expect(JSONPointer("/")?.tokens == [""])
        #expect(JSONPointer("/~01")?.tokens == ["~1"])
        #expect(JSONPointer("/车辆/号牌")?.tokens == ["车辆", "号牌"])
    }

    @Test(arguments: ["a", "a/b", "/~", "/~2", "/a~", "/x~/y"])
    func rejectsInvalidText(text: String) {
        #expect(JSONPointer(text) == nil)
    }

    @Test func appendsTokens() {
        var pointer = JSONPointer.root
        pointer.append("vehicle")
        pointer.append("a/b~")
        #expect(pointer.description == "/vehicle/a~1b~0")
        #expect(pointer.appending(index: 3).description == "/vehicle/a~1b~0/3")
        #expect(pointer.appending("plate").parent == pointer)
        #expect(JSONPointer.root.parent == nil)
    }

    @Test func readsValues() throws {
        let document: JSONValue = ["foo": ["bar", "baz"], "": 0, "a/b": 1, "m~n": 8, "k": ["x": nil]]
        #expect(document.value(at: .root) == document)
        #expect(document.value(at: JSONPointer("/foo")!) == ["bar", "baz"])
        #expect(document.value(at: JSONPointer("/foo/0")!) == "bar")
        #expect(document.value(at: JSONPointer("/foo/1")!) == "baz")
        #expect(document.value(at: JSONPointer("/foo/2")!) == nil)
        #expect(document.value(at: JSONPointer("/foo/01")!) == nil)
        #expect(document.value(at: JSONPointer("/foo/-")!) == nil)
        #expect(document.value(at: JSONPointer("/")!) == 0)
        #expect(document.value(at: JSONPointer("/a~1b")!) == 1)
        #expect(document.value(at: JSONPointer("/m~0n")!) == 8)
        #expect(document.value(at: JSONPointer("/k/x")!)?.isNull == true)
        #expect(document.value(at: JSONPointer("/m~0n/x")!) == nil)
    }

    @Test func setBuildsRecordsMemberByMember() throws {
        var record: JSONValue = .object(JSONObject())
        try record.set("traffic-violation", at: JSONPointer("/kind")!)
        try record.set("川S12345", at: JSONPointer("/vehicle/plate")!)
        try record.set("02", at: JSONPointer("/vehicle/plateType")!)
        try record.set("中华人民共和国道路运输条例", at: JSONPointer("/legalBasis/0/law")!)
        try record.set("第六十三条", at: JSONPointer("/legalBasis/0/article")!)
        try record.set("公路法", at: JSONPointer("/legalBasis/1/law")!)
        try record.set("liangping", at: JSONPointer("/audience/-")!)
        try record.set("all", at: JSONPointer("/audience/-")!)
        #expect(record == [
            "kind": "traffic-violation",
            "vehicle": ["plate": "川S12345", "plateType": "02"],
            "legalBasis": [["law": "中华人民共和国道路运输条例", "article": "第六十三条"], ["law": "公路法"]],
            "audience": ["liangping", "all"],
        ])
        // Replacing keeps the member's place.
        try record.set("bulletin", at: JSONPointer("/kind")!)
        #expect(record.objectValue?.keys.first == "kind")
        #expect(record["kind"] == "bulletin")
        try record.set("X", at: JSONPointer("/audience/0")!)
        #expect(record["audience"] == ["X", "all"])
        try record.set(1, at: .root)
        #expect(record == 1)
    }

    @Test func setRejectsImpossiblePlacesAndLeavesTheValueIntact() throws {
        let original: JSONValue = ["a": [1, 2], "s": "text"]
        var document = original
        #expect(throws: JSONPointerError(reason: .indexOutOfRange, at: JSONPointer("/a")!)) {
            try document.set(3, at: JSONPointer("/a/5")!)
        }
        #expect(throws: JSONPointerError(reason: .invalidArrayIndex, at: JSONPointer("/a")!)) {
            try document.set(3, at: JSONPointer("/a/x")!)
        }
        #expect(throws: JSONPointerError(reason: .notAContainer, at: JSONPointer("/s")!)) {
            try document.set(3, at: JSONPointer("/s/t/u")!)
        }
        #expect(document == original)
    }

    @Test func removesValues() throws {
        var document: JSONValue = ["a": [1, 2, 3], "b": ["c": 1, "d": 2]]
        #expect(document.removeValue(at: JSONPointer("/a/1")!) == 2)
        #expect(document.removeValue(at: JSONPointer("/b/c")!) == 1)
        #expect(document.removeValue(at: JSONPointer("/b/zz")!) == nil)
        #expect(document.removeValue(at: .root) == nil)
        #expect(document == ["a": [1, 3], "b": ["d": 2]])
    }
}

@Suite struct JSONPointerInPlaceTests {
    @Test func removeLastWalksUpToTheRoot() {
        var path = JSONPointer("/x/y")!
        path.removeLast()
        #expect(path == JSONPointer("/x"))
        path.removeLast()
        path.removeLast()
        #expect(path.isRoot)
    }
}

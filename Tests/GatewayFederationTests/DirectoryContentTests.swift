import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import Testing

/// federation.md's content rules: every violation is refused with the member's JSON Pointer.
@Suite struct DirectoryContentTests {
    static let pinA = String(repeating: "a", count: 64)
    static let pinB = String(repeating: "b", count: 64)
    static let pinC = String(repeating: "c", count: 64)

    /// A valid member (the spec's example with made-up pins).
    static let valid: JSONValue = [
        "version": 1, "serial": 7, "issuedAt": "2026-12-02T08:00:00Z", "nextUpdate": "2026-12-09T08:00:00Z",
        "nodes": [
            ["id": "renshi-node", "url": "https://renshi-gw.example:8443", "tlsCertificateSha256": .string(pinA),
             "hosts": ["renshi", "kaijiang", "kaijiang-renshi", "dachuan"]],
            ["id": "xinsheng-node", "url": "https://xinsheng-gw.example:8443", "tlsCertificateSha256": .string(pinB),
             "nextTlsCertificateSha256": .string(pinC), "hosts": ["xinsheng", "liangping", "liangping-xinsheng"]],
        ],
    ]

    static func read(_ member: JSONValue) -> Result<Directory, DirectoryError> {
        Result { () throws(DirectoryError) in try Directory(member: member.objectValue!) }
    }

    @Test func theSpecExampleIsValid() throws {
        let directory = try Self.read(Self.valid).get()
        #expect(directory.serial == 7)
        #expect(directory.nodes.map(\.id) == ["renshi-node", "xinsheng-node"])
        #expect(directory.node(hosting: "liangping")?.id == "xinsheng-node")
        #expect(directory.node(hosting: "nobody") == nil)
        #expect(directory.node(pinned: Self.pinC)?.id == "xinsheng-node")
        #expect(directory.node(pinned: Self.pinA)?.id == "renshi-node")
        #expect(directory.issuedAt == Date(timeIntervalSince1970: 1_796_198_400))
        #expect(!directory.isStale(at: directory.nextUpdate) && directory.isStale(at: directory.nextUpdate.addingTimeInterval(1)))
    }

    /// A change to the valid member: `value` placed at `at` (nil removes), with the problem expected.
    struct Case: Sendable, CustomTestStringConvertible {
        var at: String
        var value: JSONValue?
        var code: String
        var pointer: String
        var testDescription: String { "\(at) = \(value.map { $0.canonicalString } ?? "(removed)") → \(code) at \(pointer)" }
    }

    static let cases: [Case] = [
        Case(at: "/version", value: 2, code: "unsupported-version", pointer: "/directory/version"),
        Case(at: "/version", value: nil, code: "malformed-directory", pointer: "/directory/version"),
        Case(at: "/serial", value: -1, code: "invalid-serial", pointer: "/directory/serial"),
        Case(at: "/serial", value: "7", code: "invalid-serial", pointer: "/directory/serial"),
        Case(at: "/serial", value: 7.5, code: "invalid-serial", pointer: "/directory/serial"),
        Case(at: "/serial", value: .number(JSONNumber(uncheckedText: "9007199254740992")), code: "invalid-serial", pointer: "/directory/serial"),
        Case(at: "/issuedAt", value: "2026-02-30T08:00:00Z", code: "invalid-time", pointer: "/directory/issuedAt"),
        Case(at: "/issuedAt", value: "2026-12-02T08:00:00", code: "invalid-time", pointer: "/directory/issuedAt"),
        Case(at: "/issuedAt", value: "2026-12-02T08:00:00+0800", code: "invalid-time", pointer: "/directory/issuedAt"),
        Case(at: "/issuedAt", value: "2026-12-02", code: "invalid-time", pointer: "/directory/issuedAt"),
        Case(at: "/nextUpdate", value: 1_796_198_400, code: "invalid-time", pointer: "/directory/nextUpdate"),
        Case(at: "/nextUpdate", value: "2026-12-02T08:00:00Z", code: "next-update-not-after-issued-at", pointer: "/directory/nextUpdate"),
        // The same instant as issuedAt, written with an offset.
        Case(at: "/nextUpdate", value: "2026-12-02T16:00:00+08:00", code: "next-update-not-after-issued-at", pointer: "/directory/nextUpdate"),
        Case(at: "/nextUpdate", value: "2026-12-01T08:00:00Z", code: "next-update-not-after-issued-at", pointer: "/directory/nextUpdate"),
        Case(at: "/nodes", value: nil, code: "malformed-directory", pointer: "/directory/nodes"),
        Case(at: "/nodes/1", value: "xinsheng-node", code: "malformed-directory", pointer: "/directory/nodes/1"),
        Case(at: "/nodes/1/id", value: "renshi-node", code: "duplicate-node", pointer: "/directory/nodes/1/id"),
        Case(at: "/nodes/0/id", value: "Renshi-Node", code: "invalid-id", pointer: "/directory/nodes/0/id"),
        Case(at: "/nodes/0/id", value: nil, code: "malformed-directory", pointer: "/directory/nodes/0/id"),
        Case(at: "/nodes/1/tlsCertificateSha256", value: .string(pinA), code: "duplicate-pin", pointer: "/directory/nodes/1/tlsCertificateSha256"),
        Case(at: "/nodes/1/nextTlsCertificateSha256", value: .string(pinA), code: "duplicate-pin", pointer: "/directory/nodes/1/nextTlsCertificateSha256"),
        Case(at: "/nodes/1/nextTlsCertificateSha256", value: .string(pinB), code: "duplicate-pin", pointer: "/directory/nodes/1/nextTlsCertificateSha256"),
        Case(at: "/nodes/0/tlsCertificateSha256", value: .string(pinA.uppercased()), code: "invalid-pin", pointer: "/directory/nodes/0/tlsCertificateSha256"),
        Case(at: "/nodes/0/tlsCertificateSha256", value: .string(String(pinA.dropLast())), code: "invalid-pin", pointer: "/directory/nodes/0/tlsCertificateSha256"),
        Case(at: "/nodes/1/nextTlsCertificateSha256", value: .null, code: "malformed-directory", pointer: "/directory/nodes/1/nextTlsCertificateSha256"),
        Case(at: "/nodes/1/hosts/0", value: "renshi", code: "participant-hosted-twice", pointer: "/directory/nodes/1/hosts/0"),
        Case(at: "/nodes/0/hosts/3", value: "renshi", code: "participant-hosted-twice", pointer: "/directory/nodes/0/hosts/3"),
        Case(at: "/nodes/0/hosts/1", value: "kai jiang", code: "invalid-id", pointer: "/directory/nodes/0/hosts/1"),
        Case(at: "/nodes/0/hosts", value: "renshi", code: "malformed-directory", pointer: "/directory/nodes/0/hosts"),
        Case(at: "/nodes/0/url", value: "http://renshi-gw.example:8443", code: "invalid-url", pointer: "/directory/nodes/0/url"),
        Case(at: "/nodes/0/url", value: "https://", code: "invalid-url", pointer: "/directory/nodes/0/url"),
        Case(at: "/nodes/0/url", value: "https://user:pw@renshi-gw.example", code: "invalid-url", pointer: "/directory/nodes/0/url"),
        Case(at: "/nodes/0/url", value: "https://renshi-gw.example/?a=1", code: "invalid-url", pointer: "/directory/nodes/0/url"),
        Case(at: "/nodes/0/url", value: "renshi-gw.example:8443", code: "invalid-url", pointer: "/directory/nodes/0/url"),
    ]

    @Test(arguments: cases) func eachRuleIsRefusedAtItsMember(_ rule: Case) throws {
        var member = Self.valid
        let pointer = try #require(JSONPointer(rule.at))
        if let value = rule.value { try member.set(value, at: pointer) } else { member.removeValue(at: pointer) }
        guard case .failure(let error) = Self.read(member) else {
            Issue.record("accepted")
            return
        }
        #expect(error.problems.map(\.code.rawValue) == [rule.code], "\(error)")
        #expect(error.problems.first?.pointer?.description == rule.pointer, "\(error)")
        #expect(error.problems.first?.message.isEmpty == false)
    }

    @Test func everyProblemIsReportedNotOnlyTheFirst() throws {
        var member = Self.valid
        try member.set("ftp://x", at: JSONPointer("/nodes/0/url")!)
        try member.set("renshi-node", at: JSONPointer("/nodes/1/id")!)
        try member.set("dachuan", at: JSONPointer("/nodes/1/hosts/2")!)
        try member.set(3, at: JSONPointer("/version")!)
        let error = try #require(Self.read(member).failure)
        #expect(error.problems.map(\.pointer!.description) == [
            "/directory/version", "/directory/nodes/0/url", "/directory/nodes/1/id", "/directory/nodes/1/hosts/2",
        ])
        #expect(error.problems[3].message.contains("dachuan") && error.problems[3].message.contains("/directory/nodes/0/hosts/3"))
        #expect(!error.problems[3].message.contains("this node"))
    }

    @Test func timesWithAnOffsetOrFractionsAreRead() throws {
        var member = Self.valid
        try member.set("2026-12-02T16:00:00.5+08:00", at: JSONPointer("/issuedAt")!)
        try member.set("2026-12-09T08:00:00z", at: JSONPointer("/nextUpdate")!)
        let directory = try Self.read(member).get()
        #expect(directory.issuedAt == Date(timeIntervalSince1970: 1_796_198_400.5))
        #expect(directory.issuedAtText == "2026-12-02T16:00:00.5+08:00")
    }

    @Test func unknownMembersAreKeptAndCountAsContent() throws {
        var member = Self.valid
        try member.set("later", at: JSONPointer("/futureMember")!)
        let directory = try Self.read(member).get()
        let plain = try Self.read(Self.valid).get()
        #expect(directory.member["futureMember"] == "later")
        #expect(directory.canonicalBytes() != plain.canonicalBytes())
    }

    @Test func theBuilderChecksWhatItBuilds() throws {
        let now = Date()
        let node = DirectoryNode(id: "a-node", url: "https://a.example", tlsCertificateSha256: Self.pinA, hosts: ["renshi"])
        var other = node
        other.id = "b-node"
        other.tlsCertificateSha256 = Self.pinB
        let error = try #require(Result { () throws(DirectoryError) in
            try Directory(serial: 1, issuedAt: now, nextUpdate: now.addingTimeInterval(60), nodes: [node, other])
        }.failure)
        #expect(error.problems.map(\.code) == [.hostedTwice])
        #expect(error.problems.first?.pointer?.description == "/directory/nodes/1/hosts/0")
        let ok = try Directory(serial: 1, issuedAt: now, nextUpdate: now.addingTimeInterval(60), nodes: [node])
        #expect(ok.issuedAtText == Timestamp.string(now))
        #expect(ok.nodes == [node])
    }
}

extension Result {
    var failure: Failure? { if case .failure(let failure) = self { failure } else { nil } }
}

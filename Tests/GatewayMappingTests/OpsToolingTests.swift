import Foundation
import GatewayModel
import Testing

@testable import GatewayMapping

@Suite struct MappingLintTests {
    let seeds = translator.seeds
    let lint = try! MappingLint(schemaPath: packageRoot + "/docs/spec/canonical.schema.json")

    func mapping(_ yaml: String) throws -> Mapping {
        try Mapping.load(path: "test.yaml", text: yaml, seeds: seeds)
    }

    @Test func theShippedMappingsAreClean() {
        for m in translator.mappings { #expect(lint.check(m).isEmpty, "\(m.id): \(lint.check(m))") }
    }

    @Test func aMemberOutsideTheModelIsReportedWithItsLine() throws {
        let text = try String(contentsOfFile: packageRoot + "/Mappings/cq-traffic-json.yaml", encoding: .utf8)
            .replacingOccurrences(of: "  - to: /violation/description", with: "  - to: /violation/descripton")
        let problems = lint.check(try mapping(text))
        let p = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(p.message.contains("/violation/descripton"))
        let line = text.components(separatedBy: "\n").firstIndex { $0.contains("/violation/descripton") }.map { $0 + 1 }
        #expect(p.line == line)
    }

    @Test func aRequiredMemberNeverWrittenIsReported() throws {
        let text = try String(contentsOfFile: packageRoot + "/Mappings/cq-traffic-json.yaml", encoding: .utf8)
            .replacingOccurrences(of: "  - to: /agency/name\n    from: /org/name\n", with: "")
        let problems = lint.check(try mapping(text))
        #expect(problems.map(\.message) == ["the required member /agency/name is never written"])
    }

    @Test func unknownCodeTablesAndBadPathsFailToLoadWithTheirPosition() throws {
        let base = try String(contentsOfFile: packageRoot + "/Mappings/sc-traffic-xml.yaml", encoding: .utf8)
        #expect(throws: ConfigurationError.self) {
            try mapping(base.replacingOccurrences(of: "table: plate-types", with: "table: plate-kinds"))
        }
        let broken = base.replacingOccurrences(of: "from: hphm", with: "from: \"hphm[\"")
        let error = try #require(throws: ConfigurationError.self) { try mapping(broken) }
        #expect(error.line == broken.components(separatedBy: "\n").firstIndex { $0.contains("hphm[") }.map { $0 + 1 })
        #expect(error.description.hasPrefix("test.yaml:"))
        let json = try String(contentsOfFile: packageRoot + "/Mappings/cq-traffic-json.yaml", encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try mapping(json.replacingOccurrences(of: "from: /fine", with: "from: fine")) }
        #expect(throws: ConfigurationError.self) { try mapping(json.replacingOccurrences(of: "    apply: [integer]", with: "    aply: [integer]")) }
    }
}

@Suite struct RoutesTests {
    let seeds = translator.seeds
    let routes = try! Routes.load(directory: packageRoot + "/Mappings", seeds: translator.seeds)

    func record(_ kind: String, region: String, extra: [String: JSONValue] = [:]) -> JSONValue {
        var o = JSONObject()
        o["kind"] = .string(kind)
        o["source"] = ["region": .string(region), "system": "x", "format": "x/1"]
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    @Test func trafficFromOneOfficeGoesToTheOther() throws {
        #expect(try routes.route(record("traffic-violation", region: "sichuan"), submitter: "renshi").destinations == ["xinsheng"])
        #expect(try routes.route(record("enforcement-case", region: "chongqing"), submitter: "xinsheng").destinations == ["renshi"])
    }

    @Test func bulletinsGoToTheirAudienceAndAllMeansEveryOtherMember() throws {
        let b = record("bulletin", region: "sichuan", extra: ["issuedBy": ["org": "kaijiang"], "audience": ["all"]])
        let d = try routes.route(b, submitter: "kaijiang")
        #expect(Set(d.destinations) == Set(seeds.allianceMembers.map(\.id)).subtracting(["kaijiang"]))
        let c = record("bulletin", region: "sichuan", extra: ["issuedBy": ["org": "kaijiang"], "audience": ["dachuan"]])
        #expect(try routes.route(c, submitter: "kaijiang").destinations == ["dachuan"])
    }

    @Test func aRecordNoRouteMatchesIsRejectedNotDropped() {
        #expect(throws: RecordError.self) { try routes.route(record("traffic-violation", region: "sichuan"), submitter: "dachuan") }
        do {
            _ = try routes.route(record("traffic-violation", region: "sichuan"), submitter: "dachuan")
        } catch {
            #expect(error.code.rawValue == "no-route")
        }
    }

    @Test func lintFindsUnknownParticipantsAndUnreachableRules() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("routes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        routes:
          - name: everything
            match: { kind: traffic-violation }
            to: [renshi]
            final: true
          - name: shadowed
            match: { kind: traffic-violation, submitter: [xinsheng] }
            to: [nobody]
        """.write(toFile: dir + "/routes.yaml", atomically: true, encoding: .utf8)
        let problems = RoutesLint.check(directory: dir, seeds: seeds, mappings: translator.mappings)
        #expect(problems.count == 2)
        #expect(problems.contains { $0.message.contains("'nobody' is not a participant") && $0.line == 6 })
        #expect(problems.contains { $0.message.contains("unreachable") })
    }
}

@Suite struct CoverageAndExplainTests {
    @Test func coverageCountsBranchesOfConditionalRules() throws {
        let coverage = Coverage()
        _ = translator.translate(Array(scExample.utf8), coverage: coverage) { _ in }
        let m = try #require(translator.mapping(id: "sc-traffic-xml"))
        let counts = coverage.counts(for: m)
        let names = m.branchNames.map(\.description)
        let pending = try #require(names.firstIndex(of: "/status [otherwise]"))
        let paid = try #require(names.firstIndex(of: "/status [when jkbj = 1]"))
        #expect(counts[pending] == 1)
        #expect(counts[paid] == 0)
    }

    @Test func explainGivesTheLineageOfEveryMember() throws {
        var lineage: [Lineage] = []
        _ = translator.translate(Array(scExample.utf8), explain: true) { outcome in
            if case .translated(_, _, let l) = outcome { lineage = l }
        }
        let fine = try #require(lineage.first { $0.path == "/penalty/fineFen" })
        #expect(fine.source == "/root/body/vio/fkje")
        #expect(fine.raw == "200")
        #expect(fine.steps == ["money(元)"])
        #expect(fine.result == 20000)
        let plate = try #require(lineage.first { $0.path == "/vehicle/plate" })
        #expect(plate.raw == "川S·12345" && plate.result == "川S12345")
        #expect(Set(lineage.map(\.path)).isSuperset(of: ["/recordId", "/status", "/occurredAt", "/driver/idNumber"]))
    }
}

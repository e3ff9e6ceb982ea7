import Foundation
import GatewayModel
import Testing

@testable import GatewayMapping

/// What `xgw mappings lint` must catch before production does (issue 16 item 14): two mappings
/// that recognise the same documents, enum values outside the schema, and one broken file that
/// must not turn into route errors about kinds whose mappings are fine.
@Suite struct LintOverlapTests {
    let seeds = translator.seeds
    let lint = try! MappingLint(schemaPath: packageRoot + "/docs/spec/canonical.schema.json")

    func shipped(_ id: String) throws -> String {
        try String(contentsOfFile: packageRoot + "/Mappings/\(id).yaml", encoding: .utf8)
    }

    @Test func theShippedMappingsRecogniseDisjointDocuments() {
        #expect(MappingLint.overlappingDetections(translator.mappings).isEmpty)
    }

    @Test func aCopiedMappingThatDetectsTheSameDocumentsIsReported() throws {
        let original = try Mapping.load(path: "Mappings/sc-traffic-xml.yaml", text: try shipped("sc-traffic-xml"), seeds: seeds)
        let text = try shipped("sc-traffic-xml").replacingOccurrences(of: "id: sc-traffic-xml\n", with: "id: sc-traffic-xml-v2\n")
        let copy = try Mapping.load(path: "Mappings/sc-traffic-xml-v2.yaml", text: text, seeds: seeds)
        // Sorted by file name the copy comes first, and takes every document.
        let problems = MappingLint.overlappingDetections([copy, original])
        let p = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(p.file == "Mappings/sc-traffic-xml.yaml")
        #expect(p.line == text.components(separatedBy: "\n").firstIndex(of: "detect:").map { $0 + 1 })
        #expect(p.message.contains("'sc-traffic-xml-v2'"))

        // A different interface id (head/jkid) tells them apart.
        let other = try Mapping.load(
            path: "Mappings/sc-traffic-xml-v2.yaml", text: text.replacingOccurrences(of: "equals: \"04C03\"", with: "equals: \"04C04\""), seeds: seeds)
        #expect(MappingLint.overlappingDetections([other, original]).isEmpty)
        // A JSON mapping with the same condition as another, whatever else it tests, is reported.
        let json = try shipped("cq-traffic-json")
        let widened = json.replacingOccurrences(of: "id: cq-traffic-json\n", with: "id: cq-traffic-json-b\n")
            .replacingOccurrences(of: "    - { from: /schema, equals: \"cq.traffic.violation/1\" }\n", with: "    - { from: /schema, one-of: [\"cq.traffic.violation/1\", \"cq.traffic.violation/2\"] }\n")
        #expect(widened != json.replacingOccurrences(of: "id: cq-traffic-json\n", with: "id: cq-traffic-json-b\n"))
        let a = try Mapping.load(path: "a.yaml", text: json, seeds: seeds)
        let b = try Mapping.load(path: "b.yaml", text: widened, seeds: seeds)
        #expect(MappingLint.overlappingDetections([a, b]).count == 1)
    }

    @Test func anEnumValueOutsideTheSchemaIsReportedWithItsLine() throws {
        let text = try shipped("cq-traffic-json").replacingOccurrences(of: "{ ONSITE: site, CAMERA: camera }", with: "{ ONSITE: spot, CAMERA: camera }")
        let problems = lint.check(try Mapping.load(path: "test.yaml", text: text, seeds: seeds))
        let p = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(p.message.contains("\"spot\"") && p.message.contains("/capture"))
        let lines = text.components(separatedBy: "\n")
        #expect(p.line == lines.firstIndex(of: "  - to: /capture").map { $0 + 1 })
        // A constant outside the schema too.
        let constant = try shipped("cq-traffic-json").replacingOccurrences(
            of: "  - to: /status\n    from: /state\n    apply: [{ enum: { UNHANDLED: pending, HANDLED: processed, PAID: paid } }]",
            with: "  - to: /status\n    value: settled")
        #expect(constant != text)
        let constantProblems = lint.check(try Mapping.load(path: "test.yaml", text: constant, seeds: seeds))
        #expect(constantProblems.map(\.message).contains { $0.contains("\"settled\"") })
    }

    @Test func oneBrokenFileLeavesTheOthersAndTheRoutesChecked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-lint-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: packageRoot + "/Mappings", toPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let broken = folder + "/cq-traffic-json.yaml"
        try (try shipped("cq-traffic-json").replacingOccurrences(of: "kind: traffic-violation", with: "kind: [traffic-violation"))
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let loaded = Mapping.loadEach(directory: folder, seeds: seeds)
        #expect(loaded.errors.map(\.file) == [broken])
        #expect(loaded.mappings.count == translator.mappings.count - 1)
        #expect(RoutesLint.check(directory: folder, seeds: seeds, mappings: loaded.mappings, mappingsComplete: false).isEmpty)
        // What the routes still say of participants is checked.
        let routes = try String(contentsOfFile: folder + "/routes.yaml", encoding: .utf8)
        try routes.replacingOccurrences(of: "to: [xinsheng]", with: "to: [xinshen]").write(toFile: folder + "/routes.yaml", atomically: true, encoding: .utf8)
        let problems = RoutesLint.check(directory: folder, seeds: seeds, mappings: loaded.mappings, mappingsComplete: false)
        #expect(!problems.isEmpty && problems.allSatisfy { $0.message.contains("'xinshen'") })
    }
}

import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel

/// `xgw fixtures update`: re-records the expected output of fixtures that changed.
struct FixturesUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Re-record the expected output of fixtures after a reviewed change, showing what changed.")

    @OptionGroup var selection: FixtureSelection
    @OptionGroup var mappingOptions: MappingOptions

    @Flag(name: .long, help: "Show what would change without writing.")
    var dryRun = false

    func run() async throws {
        let translator = try mappingOptions.translator()
        let runner = FixtureRunner(translator: translator, coverage: nil)
        var changed = 0
        for fixture in selection.selected() {
            let r = runner.run(fixture)
            if r.passed { continue }
            changed += 1
            Console.out.line(Console.paint("~ \(fixture.id)", "33"))
            for p in r.problems { Console.out.line("    " + p) }
            if dryRun { continue }
            write(r.actualRecords.map { $0.canonicalString }, to: fixture.expectedPath)
            write(r.actualRejections.map { rejectionExpectation($0).canonicalString }, to: fixture.rejectionsPath)
        }
        Console.out.line(dryRun ? "\(changed) fixture(s) would change" : "\(changed) fixture(s) updated")
    }

    private func rejectionExpectation(_ r: Rejection) -> JSONValue {
        var o = JSONObject()
        o["index"] = r.index.map { .number(JSONNumber($0)) } ?? .null
        if let id = r.recordId { o["recordId"] = .string(id) }
        o["errors"] = .array(r.errors.map(FixtureRunner.expectation))
        return .object(o)
    }

    private func write(_ lines: [String], to path: String) {
        if lines.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}

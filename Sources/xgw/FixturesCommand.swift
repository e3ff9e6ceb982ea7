import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel

struct FixturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixtures",
        abstract: "Prove mappings with fixtures: input documents and their expected output.",
        subcommands: [FixturesTest.self, FixturesUpdate.self])
}

struct FixtureSelection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of fixtures.", valueName: "DIR"))
    var fixtures: String?

    @Option(name: .long, help: ArgumentHelp("Only fixtures whose id (mapping/name) contains this text.", valueName: "PATTERN"))
    var filter: String?

    var fixturesDirectory: String { fixtures ?? Installation.folder("Fixtures") }

    func selected() -> [Fixture] {
        Fixture.discover(in: fixturesDirectory).filter { f in filter.map { f.id.contains($0) } ?? true }
    }
}

struct FixturesTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run every fixture and compare actual with expected records and rejections.",
        discussion: "Exit status 0 when all fixtures match, 1 otherwise.")

    enum Reporter: String, ExpressibleByArgument, CaseIterable {
        case human, json, junit
    }

    @OptionGroup var selection: FixtureSelection
    @OptionGroup var mappingOptions: MappingOptions

    @Option(name: .long, help: "human, json or junit.")
    var reporter: Reporter = .human

    func run() async throws {
        let translator = try mappingOptions.translator()
        let fixtures = selection.selected()
        if fixtures.isEmpty {
            Console.error("xgw: no fixtures found in \(selection.fixturesDirectory)\(selection.filter.map { " matching '\($0)'" } ?? "")")
            throw Exit.checkFailed
        }
        let runner = FixtureRunner(translator: translator, coverage: nil)
        let progress = reporter == .human && fixtures.count > 200 && isatty(2) == 1
        var results: [FixtureResult] = []
        for (n, fixture) in fixtures.enumerated() {
            let r = runner.run(fixture)
            results.append(r)
            if progress && (n % 25 == 0 || n == fixtures.count - 1) {
                Console.err.write("\r\(n + 1)/\(fixtures.count) fixtures, \(results.filter { !$0.passed }.count) failed")
                Console.err.flush()
            }
        }
        if progress { Console.err.write("\n"); Console.err.flush() }
        switch reporter {
        case .human: FixtureReport.human(results)
        case .json: FixtureReport.json(results)
        case .junit: FixtureReport.junit(results)
        }
        Console.out.flush()
        if results.contains(where: { !$0.passed }) { throw Exit.checkFailed }
    }
}

enum FixtureReport {
    static func human(_ results: [FixtureResult]) {
        for r in results {
            if r.passed {
                Console.out.line(Console.paint("✓", "32") + " " + r.fixture.id)
            } else {
                Console.out.line(Console.paint("✗", "31") + " " + Console.paint(r.fixture.id, "1"))
                for p in r.problems { Console.out.line("    " + p) }
            }
        }
        let failed = results.filter { !$0.passed }.count
        Console.out.line("")
        Console.out.line("\(results.count - failed) passed, \(failed) failed")
    }

    static func json(_ results: [FixtureResult]) {
        let failed = results.filter { !$0.passed }.count
        let value: JSONValue = [
            "passed": .number(JSONNumber(results.count - failed)),
            "failed": .number(JSONNumber(failed)),
            "fixtures": .array(
                results.map { r in
                    [
                        "id": .string(r.fixture.id),
                        "passed": .bool(r.passed),
                        "problems": .array(r.problems.map(JSONValue.string)),
                        "seconds": .number(JSONNumber(Double(Int(r.seconds * 1e6)) / 1e6)),
                    ]
                }),
        ]
        Console.out.line(value.canonicalBytes())
    }

    static func junit(_ results: [FixtureResult]) {
        func esc(_ s: String) -> String {
            var out = ""
            for u in s.unicodeScalars {
                switch u {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "\n", "\t": out.unicodeScalars.append(u)
                default: if u.value >= 0x20 { out.unicodeScalars.append(u) }
                }
            }
            return out
        }
        let failed = results.filter { !$0.passed }.count
        let total = results.reduce(0) { $0 + $1.seconds }
        Console.out.line("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        Console.out.line("<testsuites name=\"xgw fixtures\" tests=\"\(results.count)\" failures=\"\(failed)\" time=\"\(String(format: "%.3f", total))\">")
        let groups = Dictionary(grouping: results, by: \.fixture.folder).sorted { $0.key < $1.key }
        for (folder, rs) in groups {
            let f = rs.filter { !$0.passed }.count
            Console.out.line("  <testsuite name=\"\(esc(folder))\" tests=\"\(rs.count)\" failures=\"\(f)\">")
            for r in rs {
                let open = "    <testcase classname=\"\(esc(folder))\" name=\"\(esc(r.fixture.name))\" time=\"\(String(format: "%.6f", r.seconds))\""
                if r.passed {
                    Console.out.line(open + "/>")
                } else {
                    Console.out.line(open + ">")
                    Console.out.line("      <failure message=\"\(r.problems.count) mismatch(es)\">\(esc(r.problems.joined(separator: "\n")))</failure>")
                    Console.out.line("    </testcase>")
                }
            }
            Console.out.line("  </testsuite>")
        }
        Console.out.line("</testsuites>")
    }
}

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

import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel

/// `xgw fixtures update`: re-records the expected output of fixtures that changed.
struct FixturesUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Re-record the expected output of fixtures after a reviewed change, showing what changed.",
        discussion: """
            Each fixture whose output differs is listed with its differences and the files written or removed \
            (with --dry-run: that would be); the last line counts them.
            """)

    @OptionGroup var selection: FixtureSelection
    @OptionGroup var mappingOptions: MappingOptions

    @Flag(name: .long, help: "Show what would change without writing.")
    var dryRun = false

    func run() async throws {
        let translator = try mappingOptions.translator()
        let runner = FixtureRunner(translator: translator, coverage: nil)
        var changed = 0
        var failed = false
        for fixture in selection.selected() {
            let r = runner.run(fixture)
            if r.passed { continue }
            changed += 1
            Console.out.line(Console.paint("~ \(fixture.id)", "33"))
            for p in r.problems { Console.out.line("    " + p) }
            record(r.actualRecords.map { $0.canonicalString }, in: fixture.expectedPath, failed: &failed)
            record(r.actualRejections.map { rejectionExpectation($0).canonicalString }, in: fixture.rejectionsPath, failed: &failed)
        }
        let renderRunner = RenderFixtureRunner(translator: translator)
        for fixture in selection.selectedRender() {
            let r = renderRunner.run(fixture)
            if r.result.passed { continue }
            changed += 1
            Console.out.line(Console.paint("~ \(fixture.id)", "33"))
            for p in r.result.problems { Console.out.line("    " + p) }
            recordDocument(r.document, in: r.expectedPath, failed: &failed)
            record(r.result.actualRejections.map { rejectionExpectation($0).canonicalString }, in: fixture.rejectionsPath, failed: &failed)
        }
        Console.out.line(dryRun ? "\(changed) fixture(s) would change" : "\(changed) fixture(s) updated")
        if failed { throw Exit.ioError }
    }

    /// Writes `lines` to `path` (removes it when there are none) unless the file already holds
    /// them, and says so; with --dry-run only says what it would do.
    private func record(_ lines: [String], in path: String, failed: inout Bool) {
        let contents = lines.isEmpty ? nil : Data((lines.joined(separator: "\n") + "\n").utf8)
        store(contents, in: path, detail: " (\(lines.count) line\(lines.count == 1 ? "" : "s"))", failed: &failed)
    }

    /// A render fixture's expected document, written byte for byte (removed when none is expected).
    private func recordDocument(_ bytes: [UInt8]?, in path: String, failed: inout Bool) {
        store(bytes.map { Data($0) }, in: path, detail: "", failed: &failed)
    }

    /// Writes `contents` to `path` (removes it for nil) unless the file already holds them, and says
    /// so; with --dry-run only says what it would do.
    private func store(_ contents: Data?, in path: String, detail: String, failed: inout Bool) {
        let current = FileManager.default.contents(atPath: path)
        guard current != contents else { return }
        let verb = contents == nil ? (dryRun ? "would remove" : "removed") : current == nil ? (dryRun ? "would create" : "created") : (dryRun ? "would write" : "wrote")
        if !dryRun && !write(contents, to: path) {
            Console.error("xgw: cannot \(contents == nil ? "remove" : "write") \(path)")
            failed = true
            return
        }
        Console.out.line("    \(verb) \(path)\(contents == nil ? "" : detail)")
    }

    private func rejectionExpectation(_ r: Rejection) -> JSONValue {
        var o = JSONObject()
        o["index"] = r.index.map { .number(JSONNumber($0)) } ?? .null
        if let id = r.recordId { o["recordId"] = .string(id) }
        o["errors"] = .array(r.errors.map(FixtureRunner.expectation))
        return .object(o)
    }

    private func write(_ contents: Data?, to path: String) -> Bool {
        guard let contents else { return (try? FileManager.default.removeItem(atPath: path)) != nil }
        return FileManager.default.createFile(atPath: path, contents: contents)
    }
}

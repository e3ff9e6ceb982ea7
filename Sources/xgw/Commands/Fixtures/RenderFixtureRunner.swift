import Foundation
import GatewayMapping
import GatewayModel

/// Render fixtures (issue 14): `Fixtures/<mapping-id>/render/NNN-slug.ndjson` holds canonical
/// records, `NNN-slug.expected.<xml|json>` the document `xgw render --format <mapping-id>` must
/// write for them, byte for byte, and `NNN-slug.rejections.ndjson` the records it must refuse
/// (docs/fixtures.md).
extension FixtureSelection {
    func selectedRender() -> [Fixture] {
        let fm = FileManager.default
        let root = fixturesDirectory
        var out: [Fixture] = []
        for folder in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() {
            let dir = root + "/" + folder + "/render"
            for file in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            where file.hasSuffix(".ndjson") && !file.hasSuffix(".rejections.ndjson") {
                let name = String(file.dropLast(".ndjson".count))
                out.append(Fixture(folder: folder + "/render", name: name, inputPath: dir + "/" + file, base: dir + "/" + name))
            }
        }
        return out.filter { f in filter.map { f.id.contains($0) } ?? true }
    }
}

/// Renders one render fixture and compares the document and refusals with what it expects.
struct RenderFixtureRunner {
    let translator: Translator
    private let renderers: [String: Renderer]

    init(translator: Translator) {
        self.translator = translator
        var renderers: [String: Renderer] = [:]
        for m in translator.mappings { renderers[m.id] = try? Renderer(mapping: m) }
        self.renderers = renderers
    }

    struct Outcome {
        var result: FixtureResult
        var document: [UInt8]?
        var expectedPath: String
    }

    func run(_ fixture: Fixture) -> Outcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let format = String(fixture.folder.dropLast("/render".count))
        var result = FixtureResult(fixture: fixture, problems: [], actualRecords: [], actualRejections: [], seconds: 0)
        guard let mapping = translator.mapping(id: format) else {
            result.problems.append("no mapping '\(format)' for this render fixture")
            return Outcome(result: result, document: nil, expectedPath: fixture.base + ".expected")
        }
        let expectedPath = fixture.base + ".expected." + mapping.syntax.rawValue
        guard let renderer = renderers[format] else {
            result.problems.append("\(format) has no way back (xgw mappings coverage --render)")
            return Outcome(result: result, document: nil, expectedPath: expectedPath)
        }
        var records: [JSONValue] = []
        do { records = try FixtureRunner.readLines(fixture.inputPath) } catch { result.problems.append("\(error)") }
        let rendered = renderer.render(records)
        result.actualRejections = rendered.refusals
        let expected = FileManager.default.contents(atPath: expectedPath).map(Array.init)
        if expected != rendered.document {
            result.problems.append(Self.difference(expected: expected, actual: rendered.document, name: (expectedPath as NSString).lastPathComponent))
        }
        do {
            FixtureRunner(translator: translator, coverage: nil).compareRejections(
                expected: try FixtureRunner.readLines(fixture.rejectionsPath), actual: rendered.refusals, into: &result.problems)
        } catch {
            result.problems.append("\(error)")
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Outcome(result: result, document: rendered.document, expectedPath: expectedPath)
    }

    /// The first line where the documents differ (XML in GBK is compared as bytes, shown as UTF-8
    /// when it is valid UTF-8).
    static func difference(expected: [UInt8]?, actual: [UInt8]?, name: String) -> String {
        guard let expected else { return "\(name): expected no document (no such file), got one" }
        guard let actual else { return "\(name): expected a document, got none (every record refused)" }
        let e = expected.split(separator: 0x0A, omittingEmptySubsequences: false)
        let a = actual.split(separator: 0x0A, omittingEmptySubsequences: false)
        for i in 0..<max(e.count, a.count) where i >= e.count || i >= a.count || e[i] != a[i] {
            func show(_ lines: [ArraySlice<UInt8>]) -> String {
                i < lines.count ? String(decoding: lines[i], as: UTF8.self).trimmingCharacters(in: .whitespaces) : "(end)"
            }
            return "\(name) line \(i + 1): expected \(show(e)), actual \(show(a))"
        }
        return "\(name): differs"
    }
}

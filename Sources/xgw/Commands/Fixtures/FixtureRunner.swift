import Foundation
import GatewayMapping
import GatewayModel

/// Translates one fixture and compares what came out with what it expects.
struct FixtureRunner {
    let translator: Translator
    let coverage: Coverage?

    func run(_ fixture: Fixture) -> FixtureResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var result = FixtureResult(fixture: fixture, problems: [], actualRecords: [], actualRejections: [], seconds: 0)
        defer { result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        guard let input = FileManager.default.contents(atPath: fixture.inputPath) else {
            result.problems.append("cannot read \(fixture.inputPath)")
            return result
        }
        let summary = translator.translate(Array(input), coverage: coverage) { outcome in
            switch outcome {
            case .translated(_, let record, _): result.actualRecords.append(record)
            case .rejected(let r, _): result.actualRejections.append(r)
            }
        }
        if translator.mapping(id: fixture.folder) != nil, summary.documentRejection == nil, summary.mapping?.id != fixture.folder {
            result.problems.append("detected mapping \(summary.mapping?.id ?? "none"), expected \(fixture.folder)")
        }
        do {
            let expected = try Self.readLines(fixture.expectedPath)
            compareRecords(expected: expected, actual: result.actualRecords, rejections: result.actualRejections, into: &result.problems)
            let expectedRejections = try Self.readLines(fixture.rejectionsPath)
            compareRejections(expected: expectedRejections, actual: result.actualRejections, into: &result.problems)
        } catch {
            result.problems.append("\(error)")
        }
        return result
    }

    struct BadExpectation: Error, CustomStringConvertible {
        var description: String
    }

    static func readLines(_ path: String) throws -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var out: [JSONValue] = []
        for (n, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            do {
                out.append(try JSONParser.parse(Array(line)))
            } catch {
                throw BadExpectation(description: "\((path as NSString).lastPathComponent):\(n + 1): not JSON: \(error.message)")
            }
        }
        return out
    }

    /// Compares records aligned by `recordId` (one rejected or extra record in a batch is one
    /// problem, not a cascade of false mismatches); by position when ids are missing or repeated.
    func compareRecords(expected: [JSONValue], actual: [JSONValue], rejections: [Rejection] = [], into problems: inout [String]) {
        let expectedIds = expected.map { $0["recordId"]?.stringValue }
        let actualIds = actual.map { $0["recordId"]?.stringValue }
        guard let e = Self.uniqueIds(expectedIds), let a = Self.uniqueIds(actualIds) else {
            return comparePositionally(expected: expected, actual: actual, into: &problems)
        }
        let actualById = Dictionary(uniqueKeysWithValues: zip(a, actual))
        for (id, record) in zip(e, expected) {
            guard let found = actualById[id] else {
                let rejected = rejections.first { $0.recordId == id }
                let why = rejected.map { r in " (rejected at index \(r.index.map(String.init) ?? "null"): \(r.errors.map(Self.describe).joined(separator: "; ")))" }
                problems.append("record \(id): expected, got none\(why ?? "")")
                continue
            }
            for d in JSONDiff.differences(record, found) { problems.append("record \(id) \(d)") }
        }
        let expectedSet = Set(e)
        for id in a where !expectedSet.contains(id) { problems.append("record \(id): not expected") }
        let common = Set(a)
        let expectedOrder = e.filter(common.contains)
        let actualOrder = a.filter(expectedSet.contains)
        if expectedOrder != actualOrder {
            problems.append("records out of order: expected \(expectedOrder.joined(separator: ", ")), actual \(actualOrder.joined(separator: ", "))")
        }
    }

    /// The ids when every record has one and none repeats.
    private static func uniqueIds(_ ids: [String?]) -> [String]? {
        let present = ids.compactMap { $0 }
        return present.count == ids.count && Set(present).count == present.count ? present : nil
    }

    private func comparePositionally(expected: [JSONValue], actual: [JSONValue], into problems: inout [String]) {
        for i in 0..<max(expected.count, actual.count) {
            guard i < expected.count else {
                problems.append("record \(i): not expected, got \(actual[i]["recordId"]?.stringValue ?? "a record")")
                continue
            }
            guard i < actual.count else {
                problems.append("record \(i): expected \(expected[i]["recordId"]?.stringValue ?? "a record"), got none")
                continue
            }
            for d in JSONDiff.differences(expected[i], actual[i]) {
                problems.append("record \(i) \(d)")
            }
        }
    }

    /// Compares rejections aligned by the index of the rejected record (`null` for the whole
    /// document); several with one index pair up in order.
    func compareRejections(expected: [JSONValue], actual: [Rejection], into problems: inout [String]) {
        func label(_ index: Int?) -> String { "rejection (index \(index.map(String.init) ?? "null"))" }
        var unmatched = Array(actual.indices)
        for e in expected {
            let expectedIndex = e["index"]?.numberValue?.intValue
            guard let k = unmatched.firstIndex(where: { actual[$0].index == expectedIndex }) else {
                problems.append("\(label(expectedIndex)): expected \(e.canonicalString), got none")
                continue
            }
            let a = actual[unmatched.remove(at: k)]
            let expectedRecordId = e["recordId"]?.stringValue
            if expectedRecordId != a.recordId {
                problems.append("\(label(a.index)) /recordId: expected \(expectedRecordId ?? "(none)"), actual \(a.recordId ?? "(none)")")
            }
            var remaining = a.errors
            var missing: [String] = []
            for ee in e["errors"]?.arrayValue ?? [] {
                let code = ee["code"]?.stringValue
                let path = ee["path"]?.stringValue
                let source = ee["source"]?.stringValue
                let message = ee["message"]?.stringValue
                if let k = remaining.firstIndex(where: { actual in
                    actual.code.rawValue == code && actual.path == path && actual.source == source
                        && (message.map { actual.message.contains($0) } ?? true)
                }) {
                    remaining.remove(at: k)
                } else {
                    missing.append(ee.canonicalString)
                }
            }
            for m in missing { problems.append("\(label(a.index)): expected error \(m) not reported") }
            for r in remaining { problems.append("\(label(a.index)): unexpected error \(Self.describe(r))") }
        }
        for k in unmatched {
            let a = actual[k]
            problems.append("\(label(a.index)): not expected\(a.recordId.map { ", record \($0)" } ?? ""), \(a.errors.map(Self.describe).joined(separator: "; "))")
        }
    }

    static func describe(_ e: RecordError) -> String {
        expectation(e).canonicalString + " (\(e.message))"
    }

    /// What a fixture's `.rejections.ndjson` states of an error: `{code, path?, source?}`.
    static func expectation(_ e: RecordError) -> JSONValue {
        var o = JSONObject()
        o["code"] = .string(e.code.rawValue)
        if let p = e.path { o["path"] = .string(p) }
        if let s = e.source { o["source"] = .string(s) }
        return .object(o)
    }
}

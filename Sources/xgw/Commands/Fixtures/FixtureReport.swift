import Foundation
import GatewayModel

/// The reports of `xgw fixtures test`: human, json and junit.
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
        func esc(_ s: String) -> String { MarkupEscaping.xml(s) }
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

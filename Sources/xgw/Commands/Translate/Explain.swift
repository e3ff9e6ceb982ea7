import GatewayMapping
import GatewayModel

/// The `--explain` report: one block per record, one line per member.
enum Explain {
    static func print(record: JSONValue, lineage: [Lineage], file: String) {
        Console.out.line(Console.paint("\(file): \(record["recordId"]?.stringValue ?? "?")", "1"))
        lines(lineage)
    }

    static func print(rejection: Rejection, lineage: [Lineage], file: String) {
        let index = rejection.index.map(String.init) ?? "document"
        Console.out.line(Console.paint("\(file): record \(index) rejected \(rejection.recordId ?? "")", "1;31"))
        lines(lineage)
        for e in rejection.errors { Console.out.line("  ✗ \(e)") }
    }

    private static func lines(_ lineage: [Lineage]) {
        let width = min(28, lineage.map(\.path.count).max() ?? 0)
        for l in lineage {
            let pad = String(repeating: " ", count: max(0, width - l.path.count))
            var s = "  \(l.path)\(pad)  ← \(l.source ?? "(constant)")"
            if let raw = l.raw { s += "  raw \(raw.debugDescription)" }
            if !l.steps.isEmpty { s += "  | " + l.steps.joined(separator: " | ") }
            if let r = l.result { s += "  = \(r.canonicalString)" }
            Console.out.line(s)
        }
    }
}

import Foundation
import GatewayModel

/// Differences between two JSON values as JSON Pointers with expected and actual values.
enum JSONDiff {
    static func differences(_ expected: JSONValue, _ actual: JSONValue, at pointer: String = "") -> [String] {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            var out: [String] = []
            let keys = Set(e.keys).union(a.keys).sorted()
            for k in keys {
                let p = pointer + "/" + k.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
                switch (e[k], a[k]) {
                case (let ev?, let av?): out += differences(ev, av, at: p)
                case (let ev?, nil): out.append("\(p): expected \(ev.canonicalString), actual absent")
                case (nil, let av?): out.append("\(p): expected absent, actual \(av.canonicalString)")
                case (nil, nil): break
                }
            }
            return out
        case (.array(let e), .array(let a)) where e.count == a.count:
            return zip(e, a).enumerated().flatMap { differences($0.element.0, $0.element.1, at: pointer + "/\($0.offset)") }
        default:
            if expected.canonicalString == actual.canonicalString { return [] }
            return ["\(pointer.isEmpty ? "/" : pointer): expected \(expected.canonicalString), actual \(actual.canonicalString)"]
        }
    }
}

/// "Did you mean …?": the closest of some names to a mistyped one.
enum Suggestion {
    /// The name within two edits of `word`, or whose beginning is (`cq-trafic` for `cq-traffic-json`),
    /// nearest first; else one that starts with it, or it with the name.
    static func closest(to word: String, among names: [String]) -> String? {
        let w = Array(word.lowercased())
        let scored = names.map { name in
            let n = Array(name.lowercased())
            let whole = distance(w, n)
            guard w.count >= 4 else { return (name, whole) }
            let beginning = (w.count - 1...w.count + 1).map { distance(w, Array(n.prefix($0))) }.min() ?? whole
            return (name, Swift.min(whole, beginning + 1))
        }
        if let near = scored.filter({ $0.1 <= 2 }).min(by: { $0.1 < $1.1 }) { return near.0 }
        return names.first { $0.hasPrefix(word) || word.hasPrefix($0) }
    }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// `'x' is not one of …; did you mean 'y'?` for a message.
    static func phrase(_ word: String, among names: [String]) -> String {
        let list = names.sorted().joined(separator: ", ")
        return closest(to: word, among: names).map { "did you mean '\($0)'? (one of: \(list))" } ?? "one of: \(list)"
    }
}

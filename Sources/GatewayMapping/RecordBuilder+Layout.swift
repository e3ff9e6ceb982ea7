import GatewayModel

/// Where the rules of one member list put their values, worked out once per builder from the
/// rules' order, so that setting a member does not search the object for a key that cannot be
/// there yet, and nested objects are made with room for all the members the rules may give them.
///
/// A rule's key at token depth `d` can already stand in the object only if an earlier rule of
/// the list (or the record head: `kind`, `schemaVersion`, `source`) wrote the same tokens up to
/// `d`, or wrote a whole value at a prefix of them (a constant object may hold any key). From the
/// first depth where no earlier rule does (`fresh`), every key is new: it is appended, and each
/// object below it is new too. Above it the object is searched as before (and a key found is
/// replaced), so the record is the same member for member, in the same order.
struct MemberLayout: Sendable {
    struct Entry: Sendable {
        /// First token depth whose key no earlier rule can have written.
        var fresh: Int
        /// For each token depth but the last: how many distinct members the rules of the list
        /// give the object at that depth (its capacity when it is made).
        var capacities: [Int]
        /// The layout of the members of an `each` element object.
        var element: MemberLayout?
    }

    var entries: [Entry]

    /// The head members the builder writes before the rules run (top level only).
    static let headKeys: [[String]] = [["kind"], ["schemaVersion"], ["source"]]

    init(_ rules: [MemberRule], head: [[String]] = []) {
        self.init(paths: rules.map(\.to), head: head)
        for (index, rule) in rules.enumerated() {
            if case .each(_, .object(let members), _) = rule.body { entries[index].element = MemberLayout(members) }
        }
    }

    /// The layout of rules writing at `paths`, in this order, after `head`.
    init(paths: [[String]], head: [[String]] = []) {
        var written: [[String]] = head
        var entries: [Entry] = []
        entries.reserveCapacity(paths.count)
        for tokens in paths {
            var fresh = tokens.count
            for depth in tokens.indices where !written.contains(where: { Self.conflicts($0, tokens, at: depth) }) {
                fresh = depth
                break
            }
            var capacities: [Int] = []
            for depth in 0..<max(0, tokens.count - 1) {
                let prefix = tokens[...depth]
                var next: [String] = []
                for other in paths where other.count > depth + 1 && other[...depth].elementsEqual(prefix) {
                    if !next.contains(other[depth + 1]) { next.append(other[depth + 1]) }
                }
                capacities.append(next.count)
            }
            entries.append(Entry(fresh: fresh, capacities: capacities, element: nil))
            written.append(tokens)
        }
        self.entries = entries
    }

    /// Whether a rule that wrote `earlier` may have put the key of `tokens` at `depth` in place.
    static func conflicts(_ earlier: [String], _ tokens: [String], at depth: Int) -> Bool {
        let shared = min(earlier.count, depth + 1)
        return earlier[..<shared].elementsEqual(tokens[..<shared])
    }
}

extension RecordBuilder {
    /// Sets `value` at `tokens` (depth `depth` of the rule's path) as `entry` lays it out.
    static func set(
        _ value: JSONValue, at tokens: ArraySlice<String>, depth: Int, entry: MemberLayout.Entry, in object: inout JSONObject
    ) {
        guard let first = tokens.first else { return }
        if depth >= entry.fresh {
            if tokens.count == 1 {
                object.members.append(JSONObject.Member(key: first, value: value))
            } else {
                var child = JSONObject()
                child.members.reserveCapacity(entry.capacities[depth])
                set(value, at: tokens.dropFirst(), depth: depth + 1, entry: entry, in: &child)
                object.members.append(JSONObject.Member(key: first, value: .object(child)))
            }
            return
        }
        // The key may stand in the object: look for it from the end (keys are unique, and the
        // member a rule shares with the rule before it is usually the last).
        let found = object.members.lastIndex(where: { JSONObject.sameKey($0.key, first) })
        if tokens.count == 1 {
            if let found { object.members[found].value = value } else { object.members.append(JSONObject.Member(key: first, value: value)) }
            return
        }
        if let found, case .object(var child) = object.members[found].value {
            // Drop the parent's reference first so that the child is mutated in place, not copied.
            object.members[found].value = .null
            set(value, at: tokens.dropFirst(), depth: depth + 1, entry: entry, in: &child)
            object.members[found].value = .object(child)
        } else {
            var child = JSONObject()
            child.members.reserveCapacity(entry.capacities[depth])
            set(value, at: tokens.dropFirst(), depth: depth + 1, entry: entry, in: &child)
            if let found { object.members[found].value = .object(child) } else { object.members.append(JSONObject.Member(key: first, value: .object(child))) }
        }
    }
}

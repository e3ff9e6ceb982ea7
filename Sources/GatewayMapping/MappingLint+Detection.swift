/// `xgw mappings lint`: mappings that recognise the same documents. Detection takes the first
/// mapping by file name that recognises a document, so a mapping whose documents an earlier one
/// recognises too is shadowed — a copy (`sc-traffic-xml-v2.yaml`, sorted first) silently takes over.
extension MappingLint {
    /// A problem for each mapping that an earlier one shadows: the earlier recognises every document
    /// it recognises, or both test the same sources and some document passes both.
    public static func overlappingDetections(_ mappings: [Mapping]) -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        for (j, later) in mappings.enumerated() {
            for earlier in mappings[..<j] where earlier.syntax == later.syntax {
                let a = earlier.detect
                let b = later.detect
                guard a.covers(b) || (Set(a.conditions.map(\.key)) == Set(b.conditions.map(\.key)) && a.mayRecogniseTheSameDocuments(as: b))
                else { continue }
                problems.append(
                    ConfigurationError(
                        file: later.file, line: b.line,
                        message: "'\(later.id)' recognises documents that '\(earlier.id)' (\(earlier.file)) recognises too; "
                            + "that one is tried first and takes them. Make the 'detect' conditions exclude each other"))
            }
        }
        return problems
    }
}

extension Detection {
    /// Whether every document `other` recognises is recognised by this detection too.
    func covers(_ other: Detection) -> Bool {
        if let a = root, a != other.root { return false }
        if let a = namespace, a != other.namespace { return false }
        return conditions.allSatisfy { c in other.conditions.contains { $0.key == c.key && $0.test.implies(c.test) } }
    }

    /// False when some document property rules out for one detection every document of the other:
    /// a different root element or namespace, or contradicting conditions on the same source.
    func mayRecogniseTheSameDocuments(as other: Detection) -> Bool {
        if let a = root, let b = other.root, a != b { return false }
        if let a = namespace, let b = other.namespace, a != b { return false }
        for c in conditions {
            for d in other.conditions where c.key == d.key && c.test.excludes(d.test) { return false }
        }
        return true
    }
}

extension Condition {
    /// The source and the transforms applied to it: two conditions with one key test the same value.
    var key: String { ([source.text] + transforms.map(\.name)).joined(separator: " | ") }
}

extension Condition.Test {
    /// Whether no value passes both tests.
    func excludes(_ other: Condition.Test) -> Bool {
        switch (self, other) {
        case (.equals(let a), .equals(let b)): a != b
        case (.equals(let a), .oneOf(let s)), (.oneOf(let s), .equals(let a)): !s.contains(a)
        case (.oneOf(let s), .oneOf(let t)): Set(s).isDisjoint(with: t)
        case (.equals(let a), .notEquals(let b)), (.notEquals(let b), .equals(let a)): a == b
        case (.oneOf(let s), .notEquals(let b)), (.notEquals(let b), .oneOf(let s)): s.allSatisfy { $0 == b }
        case (.present, .absent), (.absent, .present): true
        case (.absent, .equals), (.equals, .absent), (.absent, .oneOf), (.oneOf, .absent): true
        default: false
        }
    }

    /// Whether every value that passes this test passes `other`.
    func implies(_ other: Condition.Test) -> Bool {
        switch (self, other) {
        case (.equals(let a), .equals(let b)): a == b
        case (.equals(let a), .oneOf(let s)): s.contains(a)
        case (.oneOf(let s), .equals(let b)): s.allSatisfy { $0 == b }
        case (.oneOf(let s), .oneOf(let t)): Set(s).isSubset(of: t)
        case (.equals, .present), (.oneOf, .present), (.present, .present), (.absent, .absent): true
        case (.equals(let a), .notEquals(let b)): a != b
        case (.oneOf(let s), .notEquals(let b)): !s.contains(b)
        case (.notEquals(let a), .notEquals(let b)): a == b
        default: false
        }
    }
}

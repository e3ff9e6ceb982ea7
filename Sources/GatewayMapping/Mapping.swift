import GatewayModel

/// One declarative mapping file of `Mappings/`: how a regional format is recognised, where its
/// records stand, and how each canonical member is obtained from them.
///
/// See `Mappings/README.md` for the file format. A mapping is loaded once and then used from any
/// number of tasks at the same time.
public struct Mapping: Sendable {
    public enum Syntax: String, Sendable { case xml, json }

    /// The mapping id (`sc-traffic-xml`), also the name of its fixture folder.
    public var id: String
    public var version: Int
    /// The canonical record kind it produces (`traffic-violation`, ...).
    public var kind: String
    public var region: String
    /// The short name of the sending system, the prefix of record ids (`sc-traffic`).
    public var system: String
    public var syntax: Syntax
    /// `id/version`, the value of `source.format`.
    public var format: String { "\(id)/\(version)" }
    public var file: String

    var detect: Detection
    var sourceError: SourceErrorRule?
    var records: SourcePath
    var members: [MemberRule]
    var namespaces: [String: String]
    /// The way back (`render:`): what rendering canonical records into this format cannot derive
    /// from the rules above (see `Renderer`).
    public internal(set) var render = RenderSettings()
    /// How many rules and branches the mapping has (indexes of `Coverage`).
    public internal(set) var branchNames: [BranchName]
}

/// A human-readable name of one rule or branch of a mapping, for coverage reports.
public struct BranchName: Sendable, Hashable {
    public var rule: String
    public var branch: String?
    public var line: Int
    public var description: String { branch.map { "\(rule) [\($0)]" } ?? rule }
}

/// How a document is recognised as being of a mapping's format.
struct Detection: Sendable {
    /// XML: the local name of the root element, and its namespace URI when given.
    var root: String?
    var namespace: String?
    /// Further conditions evaluated from the document root (XML: the root element).
    var conditions: [Condition]
    /// The line of `detect:` in the mapping file.
    var line: Int? = nil
}

/// "The sending system reported an error inside the document": when `condition` does not hold, the
/// whole document is rejected with `source-error` and the text at `message`.
struct SourceErrorRule: Sendable {
    var condition: Condition
    var message: SourcePath?
}

/// A path into the source document, relative to a context node: an XPath for XML, a JSON Pointer
/// for JSON. `text` is the path as written in the mapping.
struct SourcePath: Sendable, CustomStringConvertible {
    enum Compiled: Sendable {
        case xml(XMLSourcePath)
        case json([String])
    }

    var text: String
    var compiled: Compiled
    var description: String { text }
}

/// A test on one source value.
struct Condition: Sendable {
    enum Test: Sendable {
        case equals(String)
        case notEquals(String)
        case oneOf([String])
        case present
        case absent
    }

    var source: SourcePath
    /// Transforms applied to the source value before the test (e.g. `identifier` so that a
    /// full-width `２` matches `2`).
    var transforms: [Transform] = []
    var test: Test
    var text: String
}

/// How one canonical member (or group of members) is obtained.
final class MemberRule: Sendable {
    enum Body: Sendable {
        /// A value read at `from` and passed through `apply`.
        case value(SourcePath, [Transform])
        /// A constant.
        case constant(JSONValue)
        /// The first case whose condition holds gives the value.
        case cases([Case])
        /// A repeated group: one array element per node found at `each`; the element is either an
        /// object built from `members`, or the value at `from` passed through `apply`. With `join`,
        /// the elements (text values) are joined into one string instead of an array.
        case each(SourcePath, element: Element, join: String?)
    }

    enum Element: Sendable {
        case object([MemberRule])
        case value(SourcePath, [Transform])
    }

    struct Case: Sendable {
        var condition: Condition?
        var value: JSONValue
        var branch: Int
    }

    /// The canonical member, as pointer tokens relative to the object being built.
    let to: [String]
    let toText: String
    let body: Body
    /// Only apply the rule when this holds (a rule whose condition fails writes nothing).
    let condition: Condition?
    /// Sources the rule depends on that must be present and hold one of the listed values
    /// (`missing-field` / `unknown-code` at the rule's member otherwise), e.g. the 0/1 flags a
    /// status is derived from.
    let checks: [Condition]
    /// JSON mappings: the source must be a JSON number (`type: number`); a string is refused with
    /// the error code of the rule's first transform (a fine sent as "200" is a sender's bug).
    let requiresNumber: Bool
    /// The value when the source is absent or blank.
    let defaultValue: JSONValue?
    /// Coverage indexes: the rule itself, and for `condition`, `cases`, `default` their branches.
    let branch: Int
    let conditionFalseBranch: Int?
    let defaultBranch: Int?
    let line: Int

    init(
        to: [String], toText: String, body: Body, condition: Condition?, checks: [Condition], requiresNumber: Bool, defaultValue: JSONValue?,
        branch: Int, conditionFalseBranch: Int?, defaultBranch: Int?, line: Int
    ) {
        self.to = to
        self.toText = toText
        self.body = body
        self.condition = condition
        self.checks = checks
        self.requiresNumber = requiresNumber
        self.defaultValue = defaultValue
        self.branch = branch
        self.conditionFalseBranch = conditionFalseBranch
        self.defaultBranch = defaultBranch
        self.line = line
    }
}

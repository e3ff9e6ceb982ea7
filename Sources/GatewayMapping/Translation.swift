import GatewayModel
import Synchronization

/// A record that could not be translated, shaped as cli.md's rejection line.
public struct Rejection: Sendable, Hashable, Error {
    /// The record's position in its document from 0; nil for a whole-document rejection.
    public var index: Int?
    public var recordId: String?
    public var errors: [RecordError]

    public init(index: Int?, recordId: String? = nil, errors: [RecordError]) {
        self.index = index
        self.recordId = recordId
        self.errors = errors
    }

    /// `{"file":…,"index":…,"recordId":…,"errors":[…]}` (the file member only when given).
    public func json(file: String?) -> JSONValue {
        var o = JSONObject()
        if let file { o["file"] = .string(file) }
        o["index"] = index.map { .number(JSONNumber($0)) } ?? .null
        if let recordId { o["recordId"] = .string(recordId) }
        o["errors"] = .array(errors.map(\.json))
        return .object(o)
    }
}

/// Where a canonical member came from: for `xgw translate --explain`.
public struct Lineage: Sendable, Hashable {
    public var path: String
    public var source: String?
    public var raw: String?
    public var steps: [String]
    public var result: JSONValue?
}

/// What became of one record of a document.
public enum RecordOutcome: Sendable {
    case translated(index: Int, record: JSONValue, lineage: [Lineage])
    case rejected(Rejection, lineage: [Lineage])

    public var index: Int? {
        switch self {
        case .translated(let index, _, _): index
        case .rejected(let r, _): r.index
        }
    }
}

/// The result of translating one document: the mapping that recognised it (if any), and whether
/// the document as a whole was refused.
public struct DocumentSummary: Sendable {
    public var mapping: Mapping?
    public var records: Int
    public var rejected: Int
    /// Set when the whole document was refused (`malformed-document`, `unknown-format`, `source-error`).
    public var documentRejection: Rejection?
}

/// Counts which rules and branches of each mapping were exercised (for `xgw mappings coverage`).
public final class Coverage: Sendable {
    private let hits = Mutex<[String: [Int]]>([:])

    public init() {}

    func hit(_ mapping: Mapping, _ branch: Int) {
        hits.withLock { hits in
            if hits[mapping.id] == nil { hits[mapping.id] = Array(repeating: 0, count: mapping.branchNames.count) }
            hits[mapping.id]![branch] += 1
        }
    }

    /// Hit counts per branch of a mapping, in `mapping.branchNames` order.
    public func counts(for mapping: Mapping) -> [Int] {
        hits.withLock { $0[mapping.id] } ?? Array(repeating: 0, count: mapping.branchNames.count)
    }
}

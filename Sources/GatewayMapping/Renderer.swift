import GatewayModel

/// Renders canonical records into a mapping's regional format: the way back of `Translator`,
/// derived from the same mapping file (each forward rule read backwards, plus its `render:`
/// section), with no Swift per format.
///
/// Every rendered document is translated back with the same mapping before it is handed out
/// (`verify`): a record that would not come back as it went in, except for the members the mapping
/// declares lossy, is refused with the member named, and the document holds only the records that
/// survive. A renderer is immutable and can be shared by any number of tasks.
public struct Renderer: Sendable {
    public let mapping: Mapping
    let plans: [Plan]
    let checker: Translator

    /// Compiles the way back of `mapping`; a rule that cannot be read backwards (a `capture`
    /// without a `text` override, a case condition it cannot satisfy) is a configuration error.
    public init(mapping: Mapping) throws(ConfigurationError) {
        self.mapping = mapping
        var compiler = PlanCompiler(mapping: mapping)
        self.plans = try compiler.compile(mapping.members, prefix: "")
        self.checker = Translator(mappings: [mapping], seeds: Seeds())
    }

    /// What became of the records given to `render`.
    public struct Result: Sendable {
        /// The regional document, nil when no record could be rendered.
        public var document: [UInt8]?
        /// Positions (in the input) of the records the document holds, in document order.
        public var rendered: [Int]
        /// Records refused, by their position in the input.
        public var refusals: [Rejection]
    }

    /// Renders `records` into one document. `verify`: translate the document back and refuse each
    /// record that does not come back equal (outside its lossy members).
    public func render(_ records: [JSONValue], verify: Bool = true) -> Result {
        var refusals: [Rejection] = []
        var drafts: [(index: Int, draft: Draft)] = []
        for (i, record) in records.enumerated() {
            switch draft(record) {
            case .success(let d): drafts.append((i, d))
            case .failure(let errors): refusals.append(Rejection(index: i, recordId: record["recordId"]?.stringValue, errors: errors))
            }
        }
        if let batch = mapping.render.batch, drafts.count > batch {
            for (i, _) in drafts[batch...] {
                refusals.append(
                    Rejection(
                        index: i, recordId: records[i]["recordId"]?.stringValue,
                        errors: [RecordError("too-many-records", message: "\(mapping.id) holds at most \(batch) record(s) per document")]))
            }
            drafts.removeSubrange(batch...)
        }
        while !drafts.isEmpty {
            let bytes: [UInt8]
            do {
                bytes = try serialise(drafts.map(\.draft))
            } catch {
                // Serialisation refuses only what the output encoding or libxml2 cannot take: refuse
                // every record, naming why.
                for (i, _) in drafts {
                    refusals.append(Rejection(index: i, recordId: records[i]["recordId"]?.stringValue, errors: [error]))
                }
                drafts = []
                break
            }
            guard verify else { return Result(document: bytes, rendered: drafts.map(\.index), refusals: refusals.sorted { ($0.index ?? 0) < ($1.index ?? 0) }) }
            let failed = check(bytes, drafts.map { records[$0.index] })
            if failed.isEmpty {
                return Result(document: bytes, rendered: drafts.map(\.index), refusals: refusals.sorted { ($0.index ?? 0) < ($1.index ?? 0) })
            }
            for (position, errors) in failed.sorted(by: { $0.key > $1.key }) {
                let i = drafts[position].index
                refusals.append(Rejection(index: i, recordId: records[i]["recordId"]?.stringValue, errors: errors))
                drafts.remove(at: position)
            }
        }
        return Result(document: nil, rendered: [], refusals: refusals.sorted { ($0.index ?? 0) < ($1.index ?? 0) })
    }

    /// The record as this format gives it back: its id under this format's system, this format's
    /// `source`, and without the members the format declares lossy.
    public func expectedBack(_ record: JSONValue) -> JSONValue {
        guard case .object(var o) = record else { return record }
        if let id = o["recordId"]?.stringValue, let colon = id.firstIndex(of: ":") {
            o["recordId"] = .string(mapping.system + id[colon...])
        }
        o["source"] = .object(
            JSONObject([
                .init(key: "region", value: .string(mapping.region)),
                .init(key: "system", value: .string(mapping.system)),
                .init(key: "format", value: .string(mapping.format)),
            ]))
        return withoutLossy(.object(o))
    }

    /// The record without the members this format declares lossy.
    public func withoutLossy(_ value: JSONValue) -> JSONValue {
        mapping.render.lossy.isEmpty ? value : Self.dropping(value, pointer: "", where: mapping.render.isLossy)
    }

    private static func dropping(_ value: JSONValue, pointer: String, where lossy: (String) -> Bool) -> JSONValue {
        switch value {
        case .object(let o):
            var out = JSONObject()
            for m in o.members {
                let p = pointer + "/" + m.key
                if lossy(p) { continue }
                out[m.key] = dropping(m.value, pointer: p, where: lossy)
            }
            return .object(out)
        case .array(let a):
            return .array(a.enumerated().map { dropping($0.element, pointer: pointer + "/" + String($0.offset), where: lossy) })
        default:
            return value
        }
    }

    /// The canonical members where two records differ (the first few, outermost first).
    public static func differences(_ a: JSONValue, _ b: JSONValue, pointer: String = "", limit: Int = 5) -> [String] {
        var out: [String] = []
        collectDifferences(a, b, pointer: pointer, into: &out, limit: limit)
        return out
    }

    private static func collectDifferences(_ a: JSONValue?, _ b: JSONValue?, pointer: String, into out: inout [String], limit: Int) {
        guard out.count < limit else { return }
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            var keys = x.keys
            for k in y.keys where !keys.contains(k) { keys.append(k) }
            for k in keys { collectDifferences(x[k], y[k], pointer: pointer + "/" + k, into: &out, limit: limit) }
        case (.array(let x)?, .array(let y)?) where x.count == y.count:
            for i in x.indices { collectDifferences(x[i], y[i], pointer: pointer + "/" + String(i), into: &out, limit: limit) }
        case (.number(let x)?, .number(let y)?):
            if JSONValue.number(x).canonicalBytes() != JSONValue.number(y).canonicalBytes() { out.append(pointer.isEmpty ? "/" : pointer) }
        default:
            if a != b { out.append(pointer.isEmpty ? "/" : pointer) }
        }
    }

    /// Translates a rendered document back and compares each record with what it should give:
    /// the refused ones, by their position in the document.
    func check(_ bytes: [UInt8], _ records: [JSONValue]) -> [Int: [RecordError]] {
        var back: [Int: RecordOutcome] = [:]
        var whole: Rejection?
        _ = checker.translate(bytes, mappingID: mapping.id) { outcome in
            if let i = outcome.index { back[i] = outcome } else if case .rejected(let r, _) = outcome { whole = r }
        }
        var failed: [Int: [RecordError]] = [:]
        for (i, record) in records.enumerated() {
            switch back[i] {
            case .translated(_, let r, _)?:
                let diffs = Self.differences(expectedBack(record), withoutLossy(r))
                if !diffs.isEmpty {
                    failed[i] = diffs.map {
                        RecordError(
                            .unrenderable, path: $0,
                            message: "\(mapping.id) cannot carry this member as it is: it would come back "
                                + (Self.value(at: $0, in: r) == nil ? "absent" : "different")
                                + " (and it is not declared lossy in render.lossy)")
                    }
                }
            case .rejected(let r, _)?:
                failed[i] = r.errors.map {
                    RecordError(
                        .unrenderable, path: $0.path,
                        message: "rendered as \(mapping.id), the record would be rejected on the way back: \($0.code.rawValue): \($0.message)")
                }
            case nil:
                let why = whole.map { $0.errors.map(\.description).joined(separator: "; ") } ?? "the record does not come back"
                failed[i] = [RecordError(.unrenderable, message: "rendered as \(mapping.id): \(why)")]
            }
        }
        return failed
    }

    static func value(at pointer: String, in record: JSONValue) -> JSONValue? {
        var current: JSONValue? = record
        for token in pointer.split(separator: "/") {
            switch current {
            case .object(let o)?: current = o[String(token)]
            case .array(let a)?: current = Int(token).flatMap { $0 < a.count ? a[$0] : nil }
            default: return nil
            }
        }
        return current
    }
}

extension RecordError.Code {
    /// A canonical record that cannot be rendered into the format asked for.
    public static let unrenderable: RecordError.Code = "unrenderable"
    /// A record of another kind than the format's.
    public static let wrongKind: RecordError.Code = "wrong-kind"
}

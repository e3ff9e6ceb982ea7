import GatewayModel

/// The translator's memory budget (`Configuration.maxWorkBytes`, issue 17 row 3).
///
/// The body bound alone bounds nothing: a record's rejection costs hundreds of bytes whatever its
/// size (an empty `<vio/>` of 6 bytes is rejected with eleven `missing-field` errors, about 7 KiB
/// in memory with its answer), a parsed tree many times the markup (`TreeCost`, `JSONValue.MemoryCost`).
/// So the parse charges its tree as it builds it, and each record's outcome is charged as it is
/// made, with what the submit path makes of it later (the answer's JSON, an envelope). Past the
/// budget the document is refused whole, before anything of it is emitted (so nothing of it is
/// signed or stored).
extension Translator {
    /// What one outcome is charged.
    enum OutcomeCost {
        /// The record's node in the list of records, its builder's state, the answer's entry, and
        /// for a translated record its envelope (header, signature, canonical bytes).
        static let record = 1024
    }

    /// A rejection as the JSON of its answer (the `Rejection` itself and the serialised answer
    /// are smaller), a translated record as its canonical value: measured on `xgw serve`, 20,000
    /// empty records took 7.5 KiB each before refusal (charged 7.6 KiB), 1,342 accepted records
    /// 8.4 KiB each in all (charged 4.6 KiB each, plus 2.8 KiB for the parsed value).
    static func estimatedCost(of outcome: RecordOutcome) -> Int {
        switch outcome {
        case .rejected(let rejection, _): OutcomeCost.record + rejection.json(file: nil).estimatedBytes
        case .translated(_, let record, _): OutcomeCost.record + record.estimatedBytes
        }
    }

    /// The refusal when a document passes the budget.
    /// `line` and `column`: where the parse stopped, when it was the parse that passed the budget.
    static func overBudget(_ limit: Int, line: Int? = nil, column: Int? = nil) -> RecordError {
        let size = limit % (1 << 20) == 0 ? "\(limit >> 20) MiB" : "\(limit) bytes"
        return RecordError(
            .malformedDocument,
            message: "the document would take more than \(size) of memory to translate (its parsed tree and its records' "
                + "results, estimated as they are made): split it into smaller documents",
            line: line, column: column)
    }

    /// Builds the records, charging each outcome; emits them all at the end, or only the refusal
    /// once `used` passes `limit`.
    func runWithinBudget<Node: SourceNode>(
        _ limit: Int, used parsed: Int, _ nodes: [Node], builder: inout RecordBuilder<Node>, summary: inout DocumentSummary,
        emit: (RecordOutcome) -> Void
    ) -> DocumentSummary {
        var used = parsed
        var held: [RecordOutcome] = []
        for (index, node) in nodes.enumerated() {
            let outcome = builder.build(node, index: index)
            used += Self.estimatedCost(of: outcome)
            if used > limit {
                held = []
                summary.records = 0
                summary.rejected = 0
                return summary.reject(Self.overBudget(limit), emit: emit)
            }
            summary.records += 1
            if case .rejected = outcome { summary.rejected += 1 }
            held.append(outcome)
        }
        for outcome in held { emit(outcome) }
        return summary
    }
}

extension Translator {
    /// The server's budget for a body limit: twice the limit in estimates (the estimates are close
    /// to what is really held), so that with the body itself (held once, and once more while it
    /// arrives) a request stays within four times the body limit (`MemoryBoundTests`); at least
    /// 16 MiB, so that a small body limit does not refuse ordinary documents.
    public static func workBudget(maxBodyBytes: Int) -> Int { max(2 * maxBodyBytes, 16 << 20) }
}

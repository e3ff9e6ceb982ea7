import Foundation

/// What `MessageQueue.search` looks for: every field given must match (nil or empty: any).
/// The console's message browser (and any reader of the whole queue) asks for it; the drivers
/// answer it from indexes (envelope id, record id, destination, submitter, unsettled state), so a
/// page costs what it lists, not what the queue holds.
public struct MessageSearch: Sendable, Hashable {
    /// Exactly this envelope id.
    public var envelopeId: String?
    /// Exactly this record id.
    public var recordId: String?
    /// Messages sent to this participant (destination, outboxes included) or by it (submitter).
    public var participant: String?
    /// Only what this participant may see, the API's rule: messages it sent or that were sent to
    /// it. Nil for ops (everything).
    public var visibleTo: String?
    /// Exactly this record kind.
    public var kind: String?
    /// States as a reader sees them (an expired lease as queued or dead, as `inbox` and `depths`
    /// show it); empty: every state, acked included.
    public var states: Set<DeliveryState>
    /// Enqueued at or after this instant.
    public var enqueuedFrom: Date?
    /// Enqueued at or before this instant.
    public var enqueuedTo: Date?

    public init(
        envelopeId: String? = nil, recordId: String? = nil, participant: String? = nil, visibleTo: String? = nil,
        kind: String? = nil, states: Set<DeliveryState> = [], enqueuedFrom: Date? = nil, enqueuedTo: Date? = nil
    ) {
        self.envelopeId = envelopeId
        self.recordId = recordId
        self.participant = participant
        self.visibleTo = visibleTo
        self.kind = kind
        self.states = states
        self.enqueuedFrom = enqueuedFrom
        self.enqueuedTo = enqueuedTo
    }

    /// How far enqueue order (message ids) may run behind enqueue time: a commit after a later
    /// enqueue's, or another node's clock. Drivers bound a time range's id walk with it.
    public static let enqueueOrderSlack: TimeInterval = 600

    /// Empty strings as "any", so that a form's blank field filters nothing.
    public var normalised: MessageSearch {
        func given(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        var out = self
        out.envelopeId = given(envelopeId)
        out.recordId = given(recordId)
        out.participant = given(participant)
        out.visibleTo = given(visibleTo)
        out.kind = given(kind)
        return out
    }

    /// The states a driver selects as stored: `leased` is added when `queued` or `dead` is wanted,
    /// since an expired lease shows where reclaiming it will put it; empty stays empty (all).
    public var storedStates: Set<DeliveryState> {
        var stored = states
        if !stored.isEmpty, !stored.isDisjoint(with: [.queued, .dead]) { stored.insert(.leased) }
        return stored
    }

    /// True when every state wanted is unsettled (queued, leased, dead): drivers then read through
    /// their index of unsettled messages.
    public var unsettledOnly: Bool { !states.isEmpty && states.isSubset(of: MessageHeader.inboxStates) }

    /// Whether `header` (as stored, or as seen) matches every field, the drivers' SQL as a rule: the
    /// in-memory driver selects with it, and SQL drivers' answers are checked against it.
    public func matches(_ header: MessageHeader, states wanted: Set<DeliveryState>) -> Bool {
        func either(_ participant: String?) -> Bool {
            participant.map { header.destination == $0 || header.submitter == $0 } ?? true
        }
        return (envelopeId.map { header.envelopeId == $0 } ?? true)
            && (recordId.map { header.recordId == $0 } ?? true)
            && either(participant) && either(visibleTo)
            && (kind.map { header.kind == $0 } ?? true)
            && (wanted.isEmpty || wanted.contains(header.delivery.state))
            && (enqueuedFrom.map { header.enqueuedAt >= $0 } ?? true)
            && (enqueuedTo.map { header.enqueuedAt <= $0 } ?? true)
    }
}

/// One page of a search (`MessageQueue.search`): the same shape as an inbox page, but newest
/// first (headers by message id from the highest down) and `next` is the cursor of the following,
/// older page, given as `before`; nil at the end. A page may hold fewer than `limit` headers and
/// still have a next one (an expired lease is read as leased, then shown as queued or dead).
public typealias MessageSearchPage = InboxPage

extension QueueValidation {
    /// A positive limit of at most 1,000, and an ordered time range.
    public static func check(search: MessageSearch, limit: Int) throws {
        guard limit > 0, limit <= 1000 else { throw QueueError(.invalidArgument, "search limit must be 1...1000, not \(limit)") }
        if let from = search.enqueuedFrom, let to = search.enqueuedTo, from > to {
            throw QueueError(.invalidArgument, "search enqueuedFrom is after enqueuedTo")
        }
    }
}

/// The search, written once over each driver's `searchHeaders`.
extension QueueStorage {
    /// Reads only, like `inbox`: nothing is leased, reclaimed or recorded.
    public func search(_ search: MessageSearch, before: MessageID?, limit: Int) async throws -> MessageSearchPage {
        let search = search.normalised
        try QueueValidation.check(search: search, limit: limit)
        let now = stored(configuration.clock.now())
        var stored = search
        stored.states = search.storedStates
        let rows = try await searchHeaders(stored, before: before, limit: limit)
        let headers = rows.compactMap { row -> MessageHeader? in
            var header = row
            if header.delivery.state == .leased {
                _ = header.delivery.expireIfDue(now: now, policy: configuration.retry.for(header.destination), random: 0)
            }
            return search.states.isEmpty || search.states.contains(header.delivery.state) ? header : nil
        }
        return MessageSearchPage(headers: headers, next: rows.count == limit ? rows.last?.messageId : nil)
    }
}

/// The search as one SQL query over the schema both SQL drivers share (`message` joined to
/// `envelope`), with numbered placeholders (`?1` for SQLite, `$1` for PostgreSQL) and their values.
/// Which index leads: the envelope's messages (`message_envelope`) or a record's envelopes
/// (`envelope_record`) when either is given; else a participant's messages as destination and as
/// submitter (`message_destination`, `message_submitter`, each walked from the newest id down to
/// `limit`, then merged); else the unsettled messages (`message_unsettled`) when only unsettled
/// states are wanted; else the primary key from the newest down. Kind, state and time range are
/// checked on the rows the leading index gives; a time range also bounds the ids walked, found
/// through `envelope_enqueued`.
public struct MessageSearchSQL: Sendable {
    public enum Value: Sendable, Hashable {
        case text(String)
        case integer(Int64)
    }

    public private(set) var sql = ""
    public private(set) var values: [Value] = []

    /// The envelope joined to its message.
    public static let join = "JOIN envelope e ON e.id = m.envelope_id"

    /// The columns, in this order: id, envelope_id, destination, submitter, kind, record_id,
    /// updated_at, enqueued_at, state, delivery_count, available_at, lease_expires_at, last_error,
    /// outcome, reason, acked_at, died_at.
    public static let columns = """
        m.id, m.envelope_id, m.destination, m.submitter, e.kind, m.record_id, m.updated_at, e.enqueued_at, m.state,
        m.delivery_count, m.available_at, m.lease_expires_at, m.last_error, m.outcome, m.reason, m.acked_at, m.died_at
        """

    /// `search` with its states as stored (`searchHeaders`); `millis` is the driver's instant as
    /// stored; `indexedBy` names the index that leads, for a driver that pins it (SQLite's
    /// `INDEXED BY`, so the plan does not hang on statistics), "" for one that plans by them.
    /// `walkJoin` joins `envelope e` (kind, enqueue time) to `message m` when the message index
    /// leads: PostgreSQL's planner, not knowing that ids follow time, would rather hash-join a
    /// whole time window than walk ids newest first, so it gets a lateral join it cannot reorder.
    public init(
        _ search: MessageSearch, before: MessageID?, limit: Int, placeholder: (Int) -> String, millis: (Date) -> Int64,
        indexedBy: (String) -> String = { _ in "" }, walkJoin: String = MessageSearchSQL.join
    ) {
        func bind(_ value: Value) -> String {
            if let index = values.firstIndex(of: value) { return placeholder(index + 1) }
            values.append(value)
            return placeholder(values.count)
        }
        let lead = search.envelopeId == nil && search.recordId == nil ? search.visibleTo ?? search.participant : nil
        var conditions: [String] = []
        if let before { conditions.append("m.id < \(bind(.integer(before.rawValue)))") }
        if let id = search.envelopeId { conditions.append("m.envelope_id = \(bind(.text(id)))") }
        if let id = search.recordId { conditions.append("e.record_id = \(bind(.text(id)))") }
        if let kind = search.kind { conditions.append("e.kind = \(bind(.text(kind)))") }
        if !search.states.isEmpty {
            // Raw values of an enum: safe as literals, and a literal list lets the planner prove a
            // partial index's predicate.
            conditions.append("m.state IN (\(search.states.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")))")
        }
        // A time range is checked on each row, and also bounds the id walk (so a window far behind
        // the newest messages does not walk every newer one): ids grow with enqueue time, up to
        // `MessageSearch.enqueueOrderSlack` (a commit after a later enqueue, nodes' clocks), so
        // the messages of the first envelope enqueued past `to` + slack are above every message
        // of the window, and those of the last envelope before `from` − slack below it. (`+ 0`
        // keeps planners from leading with the envelope's time index and sorting the whole window.)
        let slack = Int64(MessageSearch.enqueueOrderSlack * 1000)
        if let from = search.enqueuedFrom {
            conditions.append("e.enqueued_at + 0 >= \(bind(.integer(millis(from))))")
            conditions.append("""
                m.id > COALESCE((SELECT max(b.id) FROM message b WHERE b.envelope_id = (SELECT x.id FROM envelope x \
                WHERE x.enqueued_at < \(bind(.integer(millis(from) - slack))) ORDER BY x.enqueued_at DESC LIMIT 1)), 0)
                """)
        }
        if let to = search.enqueuedTo {
            conditions.append("e.enqueued_at + 0 <= \(bind(.integer(millis(to))))")
            conditions.append("""
                m.id < COALESCE((SELECT min(b.id) FROM message b WHERE b.envelope_id = (SELECT x.id FROM envelope x \
                WHERE x.enqueued_at > \(bind(.integer(millis(to) + slack))) ORDER BY x.enqueued_at LIMIT 1)), \(bind(.integer(Int64.max))))
                """)
        }
        for participant in [search.participant, search.visibleTo].compactMap({ $0 }) where participant != lead {
            let p = bind(.text(participant))
            conditions.append("(m.destination = \(p) OR m.submitter = \(p))")
        }
        let count = bind(.integer(Int64(limit)))
        let walk = lead != nil || (search.envelopeId == nil && search.recordId == nil)
        func from(_ index: String? = nil, walking: Bool = walk) -> String {
            "FROM message m\(index.map(indexedBy) ?? "") \(walking ? walkJoin : Self.join)"
        }
        func filtered(_ extra: [String]) -> String {
            let all = extra + conditions
            return all.isEmpty ? "" : "WHERE " + all.joined(separator: " AND ")
        }
        if let lead {
            let p = bind(.text(lead))
            func arm(_ column: String, _ name: String) -> String {
                "SELECT \(name).id FROM (SELECT m.id \(from("message_\(column)")) \(filtered(["m.\(column) = \(p)"])) "
                    + "ORDER BY m.id DESC LIMIT \(count)) AS \(name)"
            }
            sql = """
                SELECT \(Self.columns) \(from(walking: false))
                WHERE m.id IN (\(arm("destination", "received")) UNION ALL \(arm("submitter", "sent")))
                ORDER BY m.id DESC LIMIT \(count)
                """
        } else {
            let unsettled = search.envelopeId == nil && search.recordId == nil && search.unsettledOnly
            sql = """
                SELECT \(Self.columns) \(from(unsettled ? "message_unsettled" : nil))
                \(filtered(unsettled ? ["m.state IN ('dead', 'leased', 'queued')"] : [])) ORDER BY m.id DESC LIMIT \(count)
                """
        }
    }
}

import Foundation
import GatewayQueue

extension Gateway {
    /// One message (an envelope at one destination) as the console's message browser lists it.
    struct ConsoleMessage: Sendable {
        var messageId: Int64
        var envelopeId: String
        var destination: String
        /// The sender; empty for an acked message of an outbox (its receipt does not say).
        var submitter: String
        /// Empty for acked messages (receipts carry no kind).
        var kind: String
        var recordId: String
        /// queued, leased, dead or acked.
        var status: String
        /// accepted / rejected (and the reason) for acked messages.
        var outcome: String
        /// When it was enqueued (unsettled) or acked.
        var at: Date
    }

    /// How many messages the browser reads per participant and source (unsettled inbox, receipts).
    static let consoleScanLimit = 5000

    /// The messages `principal` may see, newest first: every destination's unsettled inbox
    /// (queued, leased, dead) and every submitter's receipts (acked), read without leasing; for a
    /// participant only those it sent or that were sent to it (the API's rules). At most
    /// `consoleScanLimit` of each kind per participant are read.
    func consoleMessages(visibleTo principal: Principal) async throws -> [ConsoleMessage] {
        let participants = seeds.participants.map(\.id)
        let visible: (String, String) -> Bool = { destination, submitter in
            switch principal {
            case .ops: true
            case .participant(let id): destination == id || submitter == id
            }
        }
        var out: [ConsoleMessage] = []
        for destination in participants + peerOutboxes {
            var after: MessageID?
            var read = 0
            repeat {
                let page = try await queue.inbox(participant: destination, states: MessageHeader.inboxStates, after: after, limit: 500)
                for h in page.headers where visible(h.destination, h.submitter) {
                    out.append(ConsoleMessage(
                        messageId: h.messageId.rawValue, envelopeId: h.envelopeId, destination: h.destination, submitter: h.submitter,
                        kind: h.kind, recordId: h.recordId, status: h.delivery.state.rawValue, outcome: h.delivery.lastError ?? "",
                        at: h.enqueuedAt))
                }
                read += page.headers.count
                after = page.next
            } while after != nil && read < Self.consoleScanLimit
        }
        for submitter in participants {
            for r in try await queue.receipts(submitter: submitter, since: .distantPast, limit: Self.consoleScanLimit)
            where visible(r.destination, submitter) {
                out.append(ConsoleMessage(
                    messageId: r.messageId.rawValue, envelopeId: r.envelopeId, destination: r.destination, submitter: submitter,
                    kind: "", recordId: r.recordId, status: "acked",
                    outcome: r.outcome.name + (r.outcome.reason.map { " (\($0))" } ?? ""), at: r.ackedAt))
            }
        }
        return out.sorted { $0.messageId > $1.messageId }
    }
}

import Foundation
import GatewayQueue

extension Gateway {
    /// One page of the messages `principal` may see that match `search`, newest first, from the
    /// whole queue (`MessageQueue.search`: every destination and outbox, every state, acked
    /// included), read without leasing; for a participant only those it sent or that were sent to
    /// it (the API's rules), whatever `search` asks.
    func consoleMessages(
        _ search: MessageSearch, visibleTo principal: Principal, before: MessageID?, limit: Int
    ) async throws -> MessageSearchPage {
        var search = search
        if case .participant(let id) = principal { search.visibleTo = id }
        return try await queue.search(search, before: before, limit: limit)
    }
}

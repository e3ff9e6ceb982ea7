import Foundation
import GatewayModel
import GatewayQueue
import GatewaySigning

extension Gateway {
    /// A page of `participant`'s inbox as message headers (`GET /v1/inbox/messages`): nothing is
    /// leased or changed, and no payload is shown (ids, kind, sender, state and times only).
    /// `after` is the `next` of the previous page.
    public func inboxMessages(participant: String, states: Set<DeliveryState>, after: MessageID?, limit: Int) async throws -> JSONValue {
        let page = try await queue.inbox(participant: participant, states: states, after: after, limit: limit)
        var messages: [JSONValue] = []
        messages.reserveCapacity(page.headers.count)
        for header in page.headers {
            var o = JSONObject([
                "messageId": .number(JSONNumber(Int(header.messageId.rawValue))), "envelopeId": .string(header.envelopeId),
                "recordId": .string(header.recordId), "kind": .string(header.kind), "submitter": .string(header.submitter),
                "status": .string(header.delivery.state.rawValue), "deliveryCount": .number(JSONNumber(header.delivery.deliveryCount)),
                "enqueuedAt": .string(Timestamp.string(header.enqueuedAt)), "updatedAt": .string(header.updatedAt),
            ])
            if let expiry = header.delivery.leaseExpiresAt { o["leaseExpiresAt"] = .string(Timestamp.string(expiry)) }
            if let error = header.delivery.lastError { o["lastError"] = .string(error) }
            messages.append(.object(o))
        }
        var out = JSONObject(["participant": .string(participant), "messages": .array(messages)])
        if let next = page.next { out["next"] = .string(next.description) }
        return .object(out)
    }
}

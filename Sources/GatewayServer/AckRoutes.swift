import GatewayModel
import GatewayQueue
import GatewaySigning
import Hummingbird

/// `POST /v1/inbox/ack`: settles up to `maxLease` leases of the caller in one request
/// (`Gateway.ack(participant:_:)`), their receipts signed as one batch.
func addBatchAckRoutes(to router: Router<GatewayContext>, gateway: Gateway) {
    router.group("v1").post("inbox/ack") { request, context in
        let participant = try context.participant()
        let limit = gateway.configuration.maxLease
        guard let body = try await jsonBody(request, limit: 64 << 10 + limit * 512, optional: false),
            let acks = body["acks"]?.arrayValue, !acks.isEmpty, acks.count <= limit
        else { throw APIError.badRequest("the body must be a JSON object with acks: an array of 1...\(limit) acks") }
        let requests = try acks.enumerated().map { index, ack in
            guard let envelopeId = ack["envelopeId"]?.stringValue, let token = ack["leaseToken"]?.stringValue else {
                throw APIError.badRequest("acks[\(index)] must be an object with envelopeId and leaseToken")
            }
            do {
                return Gateway.AckRequest(
                    envelopeId: envelopeId, leaseToken: token,
                    outcome: try ackOutcome(name: ack["outcome"]?.stringValue, reason: ack["reason"]?.stringValue))
            } catch let error as APIError {
                throw APIError.badRequest("acks[\(index)]: \(error.message)")
            }
        }
        return Response.json(try await gateway.ack(participant: participant, requests, logger: context.logger))
    }
}

/// An ack's outcome from the request (`accepted` when absent): a rejected one needs a reason code
/// of envelope.md, checked before anything is signed (free text, markup or U+0000 never reaches a
/// receipt or the database).
func ackOutcome(name: String?, reason: String?) throws -> AckOutcome {
    let name = name ?? "accepted"
    guard let outcome = AckOutcome(name: name, reason: reason) else {
        throw APIError.badRequest("outcome must be accepted or rejected")
    }
    if name == "rejected" {
        let codes = VerificationFailure.Code.documented.map(\.rawValue)
        guard let reason, !reason.isEmpty else {
            throw APIError.badRequest("a rejected outcome needs a reason: one of \(codes.joined(separator: ", "))")
        }
        guard codes.contains(reason) else {
            throw APIError.badRequest("reason must be one of \(codes.joined(separator: ", "))")
        }
    }
    return outcome
}

import GatewayModel
import GatewayQueue
import Hummingbird
import NIOCore

/// What any caller may read without leasing or the ops token: the counts of its own inbox
/// (`GET /v1/inbox`, participants) and a page of its message headers (`GET /v1/inbox/messages`,
/// participants for their own inbox, ops for any), and the alliance root and CRL
/// (`GET /v1/pki/root`, `GET /v1/pki/crl`, any valid token) to verify envelopes and receipts with.
func addInboxRoutes(to router: Router<GatewayContext>, gateway: Gateway) {
    let v1 = router.group("v1")
    v1.get("inbox") { _, context in
        Response.json(try await gateway.inbox(participant: try context.participant()))
    }
    v1.get("inbox/messages") { request, context in
        let query = request.uri.queryParameters
        let participant = try inboxOwner(query.get("participant"), context: context, gateway: gateway)
        let states = try inboxStates(query.get("status"))
        let limit = try integer(query.get("limit").map { JSONValue.number(JSONNumber(uncheckedText: $0)) }, name: "limit", default: 50, range: 1...1000)
        var after: MessageID?
        if let text = query.get("after") {
            guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let id = Int64(text) else {
                throw APIError.badRequest("after must be the next member of an inbox page (a message id)")
            }
            after = MessageID(id)
        }
        return Response.json(try await gateway.inboxMessages(participant: participant, states: states, after: after, limit: limit))
    }
    v1.get("pki/root") { _, context in
        try pem(gateway, .root, "the alliance root certificate", context)
    }
    v1.get("pki/crl") { _, context in
        try pem(gateway, .crl, "the alliance CRL", context)
    }
}

/// Whose inbox a page shows: a participant's own (naming another is 403), or for the ops token the
/// `participant` it names (required; 404 when this node knows no such participant or outbox).
private func inboxOwner(_ named: String?, context: GatewayContext, gateway: Gateway) throws -> String {
    switch context.principal {
    case nil: throw APIError.unauthorized()
    case .participant(let id):
        guard named == nil || named == id else { throw APIError.forbidden("a participant sees only its own inbox") }
        return id
    case .ops:
        guard let named, !named.isEmpty else { throw APIError.badRequest("the ops token must name a participant (participant=…)") }
        guard gateway.seeds.participant(named) != nil || gateway.peerOutboxes.contains(named) else {
            throw APIError(.notFound, "not-found", "no participant \(named)")
        }
        return named
    }
}

/// `status=queued,dead`: the states listed (default queued, leased and dead).
private func inboxStates(_ text: String?) throws -> Set<DeliveryState> {
    guard let text else { return MessageHeader.inboxStates }
    var states = Set<DeliveryState>()
    for name in text.split(separator: ",", omittingEmptySubsequences: false) {
        guard let state = DeliveryState(rawValue: String(name)), MessageHeader.inboxStates.contains(state) else {
            throw APIError.badRequest("status must be queued, leased or dead (several separated by commas)")
        }
        states.insert(state)
    }
    return states
}

/// One PKI file as `application/x-pem-file`, for any valid token; 404 when this node has none.
private func pem(_ gateway: Gateway, _ which: Gateway.AllianceFile, _ what: String, _ context: GatewayContext) throws -> Response {
    guard context.principal != nil else { throw APIError.unauthorized() }
    guard let bytes = gateway.alliancePEM(which) else { throw APIError(.notFound, "not-found", "this node holds no \(what)") }
    return Response(
        status: .ok, headers: [.contentType: "application/x-pem-file"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}

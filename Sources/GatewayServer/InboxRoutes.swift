import Hummingbird
import NIOCore

/// What any caller may read without leasing or the ops token: the counts of its own inbox
/// (`GET /v1/inbox`, participants), and the alliance root and CRL (`GET /v1/pki/root`,
/// `GET /v1/pki/crl`, any valid token) to verify envelopes and receipts with.
func addInboxRoutes(to router: Router<GatewayContext>, gateway: Gateway) {
    let v1 = router.group("v1")
    v1.get("inbox") { _, context in
        Response.json(try await gateway.inbox(participant: try context.participant()))
    }
    v1.get("pki/root") { _, context in
        try pem(gateway, .root, "the alliance root certificate", context)
    }
    v1.get("pki/crl") { _, context in
        try pem(gateway, .crl, "the alliance CRL", context)
    }
}

/// One PKI file as `application/x-pem-file`, for any valid token; 404 when this node has none.
private func pem(_ gateway: Gateway, _ which: Gateway.AllianceFile, _ what: String, _ context: GatewayContext) throws -> Response {
    guard context.principal != nil else { throw APIError.unauthorized() }
    guard let bytes = gateway.alliancePEM(which) else { throw APIError(.notFound, "not-found", "this node holds no \(what)") }
    return Response(
        status: .ok, headers: [.contentType: "application/x-pem-file"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}

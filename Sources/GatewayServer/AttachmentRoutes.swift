import GatewayModel
import HTTPTypes
import Hummingbird
import NIOCore

/// Bulletin attachments' bytes (issue 16 item 10): `PUT /v1/attachments/{sha256}` stores them by
/// their hash (any participant), `GET /v1/attachments/{sha256}` serves them to the issuer and
/// audience of an accepted bulletin that names them, and to ops; anyone else gets 404.
func addAttachmentRoutes(to router: Router<GatewayContext>, gateway: Gateway) {
    let store = gateway.attachments
    let v1 = router.group("v1")
    v1.put("attachments/:sha256") { request, context in
        let participant = try context.participant()
        let sha256 = try context.parameters.require("sha256")
        guard AttachmentStore.isHash(sha256) else { throw APIError.attachment(.malformedHash(sha256)) }
        // What can be refused before a byte of the body is read: the media type, then the announced length.
        let contentType = request.headers[.contentType]
        guard let contentType, AttachmentStore.normalizedMediaType(contentType) != nil else {
            throw APIError.attachment(.unsupportedMediaType(contentType.map(AttachmentStore.essence).flatMap { $0.isEmpty ? nil : $0 }))
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > store.maxBytes {
            throw APIError.attachment(.tooLarge(limit: store.maxBytes))
        }
        let stored = try await store.upload(sha256: sha256, contentType: contentType, parts: request.body)
        context.logger.info(
            "attachment uploaded",
            metadata: ["participant": .string(participant), "sha256": .string(sha256), "size": .stringConvertible(stored.size)])
        return Response.json(stored.json)
    }
    v1.get("attachments/:sha256") { request, context in
        guard let principal = context.principal else { throw APIError.unauthorized() }
        let sha256 = try context.parameters.require("sha256")
        let allowed =
            switch principal {
            case .ops: true
            case .participant(let id): store.mayRead(sha256, participant: id)
            }
        // Not granted and not stored answer alike: a caller learns nothing of others' attachments.
        guard allowed, let stored = store.stored(sha256) else {
            throw APIError(.notFound, "not-found", "no attachment with this sha256 that you may read")
        }
        let etag = "\"\(sha256)\""
        var headers: HTTPFields = [
            .contentType: stored.mediaType, .eTag: etag, .cacheControl: "private, max-age=31536000, immutable",
            .contentDisposition: "attachment", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        if let match = request.headers[.ifNoneMatch], match == "*" || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        let body = try await FileIO().loadFile(path: store.objectPath(sha256), context: context)
        return Response(status: .ok, headers: headers, body: body)
    }
}

extension APIError {
    /// An attachment upload's refusal, as HTTP.
    static func attachment(_ failure: AttachmentStore.Failure) -> APIError {
        switch failure {
        case .malformedHash: badRequest(failure.description)
        case .hashMismatch: APIError(.unprocessableContent, "sha256-mismatch", failure.description)
        case .tooLarge: APIError(.contentTooLarge, "attachment-too-large", failure.description)
        case .unsupportedMediaType: APIError(.unsupportedMediaType, "unsupported-media-type", failure.description)
        case .storage: APIError(.serviceUnavailable, "storage", failure.description)
        }
    }
}

extension AttachmentStore.Stored {
    /// `{"sha256","size","mediaType"}`: the answer of an upload.
    var json: JSONValue {
        ["sha256": .string(sha256), "size": .number(JSONNumber(size)), "mediaType": .string(mediaType)]
    }
}

import GatewayModel

extension Envelope {
    /// The header `seal` writes (envelope.md), kept as its fields: its JCS bytes are written
    /// straight from them in RFC 8785 member order (the shape is fixed), and the `JSONObject` is
    /// built only when someone reads `header`. Sealing built that object for every envelope, about
    /// a microsecond of a 35 µs ES256 signature, and rarely anyone read it.
    struct SealedHeader: Sendable, Hashable {
        var id: String
        var kind: String
        var recordId: String
        var from: String
        var to: [String]
        /// `createdAt` as written (`Timestamp.string`).
        var createdAt: String
        var digestAlgorithm: DigestAlgorithm
        /// `payloadDigest.value`: lower-case hex.
        var digest: String

        var payloadDigest: JSONValue {
            .object(JSONObject(["alg": .string(digestAlgorithm.rawValue), "value": .string(digest)]))
        }

        /// The header object, members in the order `seal` has always written them.
        var object: JSONObject {
            JSONObject([
                "version": 1,
                "id": .string(id),
                "kind": .string(kind),
                "recordId": .string(recordId),
                "from": .string(from),
                "to": .array(to.map { .string($0) }),
                "createdAt": .string(createdAt),
                "payloadDigest": payloadDigest,
            ])
        }

        /// The JCS bytes of `object`, members written in RFC 8785 order (all names are ASCII, so
        /// byte order is UTF-16 order): equal to `JSONValue.object(object).canonicalBytes()`.
        func canonicalBytes() -> [UInt8] {
            var writer = CanonicalWriter(capacity: 256 + 32 * to.count)
            writer.append("{\"createdAt\":")
            writer.appendCanonical(string: createdAt)
            writer.append(",\"from\":")
            writer.appendCanonical(string: from)
            writer.append(",\"id\":")
            writer.appendCanonical(string: id)
            writer.append(",\"kind\":")
            writer.appendCanonical(string: kind)
            writer.append(",\"payloadDigest\":{\"alg\":")
            writer.appendCanonical(string: digestAlgorithm.rawValue)
            writer.append(",\"value\":")
            writer.appendCanonical(string: digest)
            writer.append("},\"recordId\":")
            writer.appendCanonical(string: recordId)
            writer.append(",\"to\":[")
            for (index, office) in to.enumerated() {
                if index > 0 { writer.append(UInt8(ascii: ",")) }
                writer.appendCanonical(string: office)
            }
            writer.append("],\"version\":1}")
            return writer.bytes()
        }
    }
}

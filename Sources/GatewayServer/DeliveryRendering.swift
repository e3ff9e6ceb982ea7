import Foundation
import GatewayMapping
import GatewayModel

/// One envelope's record rendered for delivery in a participant's format (issue 14 item 4): what
/// the lease answer carries beside the signed envelope, and what a connector writes or posts. The
/// envelope stays what is verified and receipted; this is a convenience copy of its payload.
public enum DeliveryRendering: Sendable, Equatable {
    /// The regional document of the record.
    case rendered(Document)
    /// The record cannot be written in `format`: `errors` name the member (`unrenderable` at
    /// `/vehicle/plate`, `wrong-kind`...). Nothing half-written is handed out.
    case refused(format: String, errors: [RecordError])

    public struct Document: Sendable, Equatable {
        /// The format (a mapping id: `cq-traffic-json`).
        public var format: String
        /// `application/json`, or `application/xml; charset=GBK` (the encoding the format writes).
        public var mediaType: String
        /// The character encoding of `body` (`UTF-8`, `GBK`).
        public var encoding: String
        /// The document's bytes, as the format writes them.
        public var body: [UInt8]

        /// `{format, mediaType, encoding, bodyEncoding, body}`: the body as text when it is UTF-8,
        /// else base64 (`bodyEncoding: base64`).
        public var json: JSONValue {
            let utf8 = encoding.uppercased() == "UTF-8"
            return .object(
                JSONObject([
                    .init(key: "format", value: .string(format)), .init(key: "mediaType", value: .string(mediaType)),
                    .init(key: "encoding", value: .string(encoding)),
                    .init(key: "bodyEncoding", value: .string(utf8 ? "text" : "base64")),
                    .init(key: "body", value: .string(utf8 ? String(decoding: body, as: UTF8.self) : Data(body).base64EncodedString())),
                ]))
        }

        /// `cq-traffic-json`'s file extension (`json`, `xml`), for connectors naming files.
        public var fileExtension: String { mediaType.hasPrefix("application/json") ? "json" : "xml" }
    }

    /// The format asked for, rendered or not.
    public var format: String {
        switch self {
        case .rendered(let d): d.format
        case .refused(let format, _): format
        }
    }

    /// The lease answer's member: `rendered` (the document) or `renderError` (`{format, errors}`).
    public var member: (key: String, value: JSONValue) {
        switch self {
        case .rendered(let d): ("rendered", d.json)
        case .refused(let format, let errors):
            ("renderError", ["format": .string(format), "errors": .array(errors.map(\.json))])
        }
    }

    /// The history detail of an ack of a message delivered so (`rendered: cq-traffic-json`), nil
    /// when it was refused (the envelope alone was delivered).
    public var historyDetail: String? {
        guard case .rendered(let d) = self else { return nil }
        return "rendered: \(d.format)"
    }

    /// What the lease request's `format` may say instead of a format id: deliver envelopes only.
    public static let canonical = "canonical"
}

extension Gateway {
    /// The format a record of `kind` is delivered to `participant` in: `requested` (the lease
    /// request's `format`) when it is a format of that kind, none for `canonical`, else the one
    /// the configuration gives the participant for the kind (`participants.<id>.delivery.formats`);
    /// nil: the envelope only.
    public func deliveryFormat(participant: String, kind: String, requested: String? = nil) -> String? {
        if requested == DeliveryRendering.canonical { return nil }
        if let requested, translator.mapping(id: requested)?.kind == kind { return requested }
        return configuration.deliveryFormat(participant: participant, kind: kind)
    }

    /// Renders the record of one signed envelope (its JSON) for `participant`, in the format
    /// `deliveryFormat` chooses for the record's kind (`requested` as there); nil when it is
    /// delivered canonical. Never throws: a record that cannot be rendered is `.refused` naming
    /// the member. Any task may call it (connectors do, to write or post the document).
    public func renderForDelivery(envelope: JSONValue, participant: String, requested: String? = nil) -> DeliveryRendering? {
        let record = envelope["payload"] ?? .null
        guard let kind = record["kind"]?.stringValue ?? envelope["kind"]?.stringValue,
            let format = deliveryFormat(participant: participant, kind: kind, requested: requested)
        else { return nil }
        return render(record, format: format)
    }

    /// Renders one canonical record in `format` (a mapping id), checked by translating it back.
    public func render(_ record: JSONValue, format: String) -> DeliveryRendering {
        let renderer: Renderer
        switch mappingSet.current.renderers[format] {
        case .success(let r)?: renderer = r
        case .failure(let error)?:
            return .refused(format: format, errors: [RecordError(.unrenderable, message: "\(format) cannot be rendered: \(error)")])
        case nil:
            return .refused(format: format, errors: [RecordError(.unknownFormat, message: "no format \(format) on this gateway")])
        }
        let result = renderer.render([record])
        guard let body = result.document else {
            let errors = result.refusals.flatMap(\.errors)
            return .refused(format: format, errors: errors.isEmpty ? [RecordError(.unrenderable, message: "\(format) wrote nothing")] : errors)
        }
        let mapping = renderer.mapping
        let encoding = mapping.syntax == .xml ? mapping.render.encoding : "UTF-8"
        let mediaType = mapping.syntax == .json ? "application/json" : "application/xml; charset=\(encoding)"
        return .rendered(.init(format: format, mediaType: mediaType, encoding: encoding, body: body))
    }
}

extension DeliveryRendering {
    /// Checks `participants.<id>.delivery.formats` against the mappings: each participant known to
    /// the seeds, each kind one the mappings translate, each format a mapping of that kind whose
    /// rules can be read backwards. The message names the file, the participant and the kind.
    static func check(_ configuration: ServerConfiguration, _ set: MappingSet.Snapshot) throws(ServerConfigurationError) {
        let file = configuration.file ?? "the configuration"
        let mappings = set.translator.mappings
        let kinds = Array(Set(mappings.map(\.kind))).sorted()
        for (id, participant) in configuration.participants.sorted(by: { $0.key < $1.key }) {
            guard set.translator.seeds.participant(id) != nil else {
                throw ServerConfigurationError("\(file): participants.\(id): no participant \(id) in the seeds")
            }
            for (kind, format) in participant.delivery.formats.sorted(by: { $0.key < $1.key }) {
                let at = "\(file): participants.\(id).delivery.formats.\(kind)"
                guard kinds.contains(kind) else {
                    throw ServerConfigurationError("\(at): no record kind \(kind) (the kinds: \(kinds.joined(separator: ", ")))")
                }
                let ofKind = mappings.filter { $0.kind == kind }.map(\.id).sorted()
                guard let mapping = mappings.first(where: { $0.id == format }) else {
                    throw ServerConfigurationError("\(at): no format \(format) (the formats of \(kind): \(ofKind.joined(separator: ", ")))")
                }
                guard mapping.kind == kind else {
                    throw ServerConfigurationError(
                        "\(at): \(format) is a format of \(mapping.kind), not \(kind) (the formats of \(kind): \(ofKind.joined(separator: ", ")))")
                }
                if case .failure(let error)? = set.renderers[format] {
                    throw ServerConfigurationError("\(at): \(format) cannot be rendered: \(error)")
                }
            }
        }
    }
}

/// The lease request's `format`: a format id (records of its kind are rendered in it, the others
/// as configured) or `canonical` (envelopes only); 400 for anything else.
func leaseFormat(_ value: JSONValue?, gateway: Gateway) throws -> String? {
    guard let value, value != .null else { return nil }
    let formats = gateway.translator.mappings.map(\.id).sorted()
    guard let text = value.stringValue, text == DeliveryRendering.canonical || formats.contains(text) else {
        throw APIError.badRequest("format must be \(DeliveryRendering.canonical) or one of \(formats.joined(separator: ", "))")
    }
    return text
}

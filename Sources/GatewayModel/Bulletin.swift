/// A party-alliance bulletin (党建联盟通报), `kind` `bulletin`.
public struct Bulletin: Sendable, Hashable {
    public struct Issuer: Sendable, Hashable, JSONModel {
        /// Alliance member id from seeds/.
        public var org: String
        public var name: String

        public init(org: String, name: String) {
            self.org = org
            self.name = name
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            org = try fields.string("org")
            name = try fields.string("name")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("org", org)
            o.add("name", name)
            return o.json
        }
    }

    public enum Priority: String, Sendable, Hashable, CaseIterable {
        case normal, urgent
    }

    public struct Attachment: Sendable, Hashable, JSONModel {
        public var name: String
        public var mediaType: String
        /// Lower-case hexadecimal SHA-256 of the attachment's bytes.
        public var sha256: String
        public var size: Int

        public init(name: String, mediaType: String, sha256: String, size: Int) {
            self.name = name
            self.mediaType = mediaType
            self.sha256 = sha256
            self.size = size
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            name = try fields.string("name")
            mediaType = try fields.string("mediaType")
            sha256 = try fields.string("sha256")
            size = try fields.int("size")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("name", name)
            o.add("mediaType", mediaType)
            o.add("sha256", sha256)
            o.add("size", size)
            return o.json
        }
    }

    public var head: RecordHead
    public var title: String
    /// Plain text; paragraphs separated by a blank line.
    public var body: String
    public var issuedBy: Issuer
    public var issuedAt: LocalDateTime
    /// Alliance member ids, or the single value `all`.
    public var audience: [String]
    public var priority: Priority
    /// Omitted from the JSON when empty.
    public var attachments: [Attachment]

    public init(
        head: RecordHead, title: String, body: String, issuedBy: Issuer, issuedAt: LocalDateTime, audience: [String],
        priority: Priority, attachments: [Attachment] = []
    ) {
        self.head = head
        self.title = title
        self.body = body
        self.issuedBy = issuedBy
        self.issuedAt = issuedAt
        self.audience = audience
        self.priority = priority
        self.attachments = attachments
    }

    /// Reads a canonical record, validating it first.
    public init(json: JSONValue) throws(InvalidRecordError) {
        let fields = try RecordHead.fields(of: json, kind: .bulletin)
        head = try RecordHead(fields: fields)
        title = try fields.string("title")
        body = try fields.string("body")
        issuedBy = try fields.model("issuedBy")
        issuedAt = try fields.instant("issuedAt")
        audience = try fields.strings("audience")
        priority = try fields.enumeration("priority")
        attachments = try fields.models("attachments")
    }

    /// The canonical JSON of this record (no `attachments` member when there are none).
    public var json: JSONValue {
        var o = head.begin(kind: .bulletin)
        o.add("title", title)
        o.add("body", body)
        o.add("issuedBy", issuedBy)
        o.add("issuedAt", issuedAt)
        o.add("audience", .array(audience.map(JSONValue.string)))
        o.add("priority", priority)
        o.addUnlessEmpty("attachments", attachments)
        return o.json
    }
}

extension ServerConfigurationFile {
    /// `participants.<id>:` (issue 14 item 4): `delivery`, optional; unknown keys refused.
    struct Participant: Decodable {
        var delivery: Delivery?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case delivery
        }

        init(from decoder: any Decoder) throws {
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: Self.prefix(decoder))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            delivery = try c.decodeIfPresent(Delivery.self, forKey: .delivery)
        }

        /// `participants.xinsheng.`: the keys' path, for messages.
        static func prefix(_ decoder: any Decoder) -> String {
            decoder.codingPath.map(\.stringValue).joined(separator: ".") + "."
        }

        func apply(to p: inout ServerConfiguration.Participant) {
            if let formats = delivery?.formats { p.delivery.formats = formats }
            if let connector = delivery?.connector { p.delivery.connector = connector.connector }
        }
    }

    /// `participants.<id>.delivery:`: `formats` (record kind → format id). The formats are checked
    /// against the mappings when the gateway starts (`DeliveryRendering.check`).
    struct Delivery: Decodable {
        var formats: [String: String]?
        var connector: Connector.File?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case formats, connector
        }

        init(from decoder: any Decoder) throws {
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: Participant.prefix(decoder))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            formats = try c.decodeIfPresent([String: String].self, forKey: .formats)
            connector = try c.decodeIfPresent(Connector.File.self, forKey: .connector)
        }
    }
}

extension ServerConfigurationFile {
    /// `signing:`: `batch` (true or false), optional; unknown keys refused.
    struct Signing: Decodable {
        var batch: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case batch
        }

        init(from decoder: any Decoder) throws {
            try ServerConfigurationFile.refuseUnknownKeys(CodingKeys.self, in: decoder, at: "signing.")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            batch = try c.decodeIfPresent(Bool.self, forKey: .batch)
        }
    }
}

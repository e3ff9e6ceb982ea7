extension ServerConfiguration {
    /// One participant's settings (`participants.<id>:`).
    public struct Participant: Sendable, Equatable {
        /// How its messages reach it.
        public var delivery = Delivery()
        public init() {}
    }

    /// How a participant's messages reach it (`participants.<id>.delivery:`).
    public struct Delivery: Sendable, Equatable {
        /// The format it wants per record kind (`traffic-violation: cq-traffic-json`): the lease
        /// answer carries, beside each signed envelope of that kind, the record rendered in that
        /// format (a mapping id). A kind not listed is delivered canonical only.
        public var formats: [String: String] = [:]
        /// A connector that hands its messages to the office's own system (`connector:` with
        /// `fileDrop` or `httpPush`, issue 14 item 5); nil: clients lease them (`Connectors`).
        public var connector: Connector?
        public init() {}
    }

    /// The format `participant` wants for records of `kind`; nil: canonical.
    public func deliveryFormat(participant: String, kind: String) -> String? {
        participants[participant]?.delivery.formats[kind]
    }
}

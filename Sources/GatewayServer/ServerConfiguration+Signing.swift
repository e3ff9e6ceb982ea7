extension ServerConfiguration {
    /// How the server signs (`signing:`).
    public struct Signing: Sendable, Equatable {
        /// One batch signature (envelope.md, "Batch signatures") over the envelopes of each
        /// submitted document, and over the receipts of each ack request that settles several
        /// messages, instead of one signature per envelope or receipt. A document with one
        /// accepted record, and an ack of one message, are signed in the single form either way.
        /// Receivers accept both forms; true by default (one SM2 signature costs about as much CPU
        /// as translating and sealing twenty records).
        public var batch = true
        public init() {}
    }
}

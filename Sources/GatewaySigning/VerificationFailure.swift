/// Why an envelope or receipt was rejected: the reason codes of envelope.md, printed by
/// `xgw verify` as `fail <id> <code>` and carried by rejected receipts.
public struct VerificationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        /// Not JSON, not an envelope/receipt, a member missing or of the wrong type, version ≠ 1,
        /// bad base64.
        public static let malformedEnvelope: Code = "malformed-envelope"
        /// `signature.alg` is not `SM2-SM3`, `ES256` or `Ed25519`.
        public static let unsupportedAlgorithm: Code = "unsupported-algorithm"
        /// `signature.alg` does not match the certificate's key type, or `payloadDigest.alg` does
        /// not match `signature.alg`.
        public static let algorithmMismatch: Code = "algorithm-mismatch"
        /// The certificate cannot be read, does not chain to a trust anchor, is not for
        /// digitalSignature, or `keyId` is not its SHA-256.
        public static let untrustedCertificate: Code = "untrusted-certificate"
        /// The certificate (or its issuer) was past its notAfter at verification time.
        public static let expiredCertificate: Code = "expired-certificate"
        /// The certificate (or its issuer) was before its notBefore at verification time.
        /// xgw's addition to envelope.md's list (the spec's "outside its validity period" split in two).
        public static let notYetValidCertificate: Code = "not-yet-valid-certificate"
        /// The certificate's serial is on a CRL of its issuer.
        public static let revokedCertificate: Code = "revoked-certificate"
        /// The signature over the JCS header does not verify.
        public static let badSignature: Code = "bad-signature"
        /// The certificate's `urn:xgw:office:` identity is not `envelope.from` (`receipt.by`).
        public static let senderMismatch: Code = "sender-mismatch"
        /// `payloadDigest.value` is not the digest of the JCS payload.
        public static let digestMismatch: Code = "digest-mismatch"

        /// Every code above: what a rejected receipt's `reason` may be.
        public static let documented: [Code] = [
            .malformedEnvelope, .unsupportedAlgorithm, .algorithmMismatch, .untrustedCertificate, .expiredCertificate,
            .notYetValidCertificate, .revokedCertificate, .badSignature, .senderMismatch, .digestMismatch,
        ]
    }

    public var code: Code
    /// A short explanation without payload content or personal data.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// A failure of a signing, key, certificate or PKI operation (not a verification outcome: those are
/// `VerificationFailure`s).
///
/// `description` names the operation and OpenSSL's reason; it never contains key material,
/// envelope payloads or personal data.
public struct SigningError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        /// A PEM or DER key could not be read, or is of a type xgw does not sign with.
        public static let invalidKey: Code = "invalid-key"
        /// A PEM or DER certificate or CRL could not be read.
        public static let invalidCertificate: Code = "invalid-certificate"
        /// The algorithm name is not one of `SM2-SM3`, `ES256`, `Ed25519`.
        public static let unsupportedAlgorithm: Code = "unsupported-algorithm"
        /// The private key does not belong to the certificate, or the key type does not match `alg`.
        public static let keyMismatch: Code = "key-mismatch"
        /// An OpenSSL call failed unexpectedly.
        public static let cryptoFailure: Code = "crypto-failure"
        /// A key, certificate or CRL file cannot be opened.
        public static let cannotOpen: Code = "cannot-open"
        /// Writing a key, certificate or PKI file failed.
        public static let io: Code = "io-error"
        /// A record or envelope lacks what sealing or a receipt needs (kind, recordId, id, digest).
        public static let invalidInput: Code = "invalid-input"
        /// A PKI request that cannot be honoured (unknown serial, missing CA, ...).
        public static let pki: Code = "pki-error"
    }

    public var code: Code
    /// What failed, without secrets or personal data.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

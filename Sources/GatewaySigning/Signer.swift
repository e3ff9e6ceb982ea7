import Foundation
import GatewayModel

/// A private key with its office certificate: everything needed to seal envelopes and receipts.
///
/// Made once and reused: the key is parsed once, and the certificate's base64 and key id are
/// computed once, so sealing costs one JCS, one digest and one signature.
public struct Signer: Sendable {
    public let key: PrivateKey
    public let certificate: Certificate
    /// `signature.certificate`: base64 DER of the certificate.
    public let certificateBase64: String

    public var algorithm: SignatureAlgorithm { key.algorithm }

    /// - Throws: `SigningError.keyMismatch` when the key is not the certificate's.
    public init(key: PrivateKey, certificate: Certificate) throws {
        guard try key.publicKey.matches(certificate.publicKey) else {
            throw SigningError(.keyMismatch, "the private key does not belong to certificate \(certificate.serial)")
        }
        self.key = key
        self.certificate = certificate
        self.certificateBase64 = Data(certificate.der).base64EncodedString()
    }

    public init(keyFile: String, certificateFile: String) throws {
        try self.init(key: PrivateKey(file: keyFile), certificate: Certificate(file: certificateFile))
    }

    /// The office ids of the certificate (`urn:xgw:office:<id>`).
    public var officeIDs: [String] { certificate.officeIDs }

    /// The `signature` member over `message` (the JCS bytes of the signed header).
    func signature(over message: [UInt8]) throws -> SignatureBlock {
        let value = try key.sign(message)
        return SignatureBlock(
            alg: algorithm.rawValue, keyId: certificate.keyId, certificate: certificateBase64,
            value: Base64Text.encode(value)
        )
    }
}

/// envelope.md's `signature` member.
public struct SignatureBlock: Sendable, Hashable {
    public var alg: String
    public var keyId: String
    public var certificate: String
    public var value: String
    /// `batch` (envelope.md, "Batch signatures"), exactly as received: when present, `value` signs
    /// the batch statement this member's path folds to. Kept unparsed so that a malformed one is
    /// refused by `verify` as `bad-signature`, as the contract says (`BatchProof(json:)` reads it).
    public var batch: JSONValue?

    public init(alg: String, keyId: String, certificate: String, value: String, batch: JSONValue? = nil) {
        self.alg = alg
        self.keyId = keyId
        self.certificate = certificate
        self.value = value
        self.batch = batch
    }

    init(json: JSONValue?) throws(VerificationFailure) {
        guard let object = json?.objectValue,
              let alg = object["alg"]?.stringValue, let keyId = object["keyId"]?.stringValue,
              let certificate = object["certificate"]?.stringValue, let value = object["value"]?.stringValue
        else { throw VerificationFailure(.malformedEnvelope, "signature member missing or incomplete") }
        self.init(alg: alg, keyId: keyId, certificate: certificate, value: value, batch: object["batch"])
    }

    public var json: JSONValue {
        var object = JSONObject([
            "alg": .string(alg), "keyId": .string(keyId), "certificate": .string(certificate), "value": .string(value),
        ])
        if let batch { object["batch"] = batch }
        return .object(object)
    }

    /// Checks this signature over `message` (the JCS of the signed member) made by office
    /// `signerID`, in envelope.md's order: algorithm known, certificate trusted at `time`,
    /// `keyId` names it, algorithm matches its key, signature verifies (directly, or with `batch`
    /// through the batch statement: `signatureVerifies`), identity is `signerID`.
    func verify(message: [UInt8], signerID: String, trust: TrustStore, at time: Date) -> Result<Certificate, VerificationFailure> {
        guard let algorithm = SignatureAlgorithm(name: alg) else {
            return .failure(VerificationFailure(.unsupportedAlgorithm, "signature algorithm is not SM2-SM3, ES256 or Ed25519"))
        }
        let certificate: Certificate
        switch trust.validate(base64Certificate: self.certificate, at: time) {
        case .success(let valid): certificate = valid
        case .failure(let failure): return .failure(failure)
        }
        guard keyId == certificate.keyId else {
            return .failure(VerificationFailure(.untrustedCertificate, "keyId does not name the certificate"))
        }
        guard certificate.algorithm == algorithm else {
            return .failure(VerificationFailure(.algorithmMismatch, "\(alg) signature with a \(certificate.algorithm) key"))
        }
        guard let signature = Data(base64Encoded: value) else {
            return .failure(VerificationFailure(.badSignature, "signature value is not base64"))
        }
        if case .failure(let failure) = signatureVerifies(
            [UInt8](signature), message: message, certificate: certificate, algorithm: algorithm, trust: trust) {
            return .failure(failure)
        }
        guard certificate.officeIDs.contains(signerID) else {
            return .failure(VerificationFailure(.senderMismatch, "certificate is not the sender's"))
        }
        return .success(certificate)
    }
}

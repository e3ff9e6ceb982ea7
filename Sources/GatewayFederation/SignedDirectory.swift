import Foundation
import GatewayModel
import GatewaySigning

/// The alliance's signed directory document, `{"directory": {…}, "signature": {…}}` (federation.md):
/// the `directory` member signed with the alliance **signing root** key over its RFC 8785 bytes, in
/// the signature object of an envelope (`alg`, `keyId`, `certificate`, `value`; never `batch`),
/// whose `certificate` is the signing root certificate itself.
///
/// Reading checks only the shape of the document; `verifySignature` checks the signature and
/// `content()` the content rules, so that a node can report every reason it refuses one
/// (`DirectoryAcceptance`).
public struct SignedDirectory: Sendable, Hashable {
    /// The `directory` member, exactly as received.
    public let member: JSONObject
    public let signature: SignatureBlock

    public init(member: JSONObject, signature: SignatureBlock) {
        self.member = member
        self.signature = signature
    }

    /// The same document: equal RFC 8785 bytes of `directory` and the same signature object.
    public static func == (a: SignedDirectory, b: SignedDirectory) -> Bool {
        a.signature == b.signature && JSONValue.object(a.member).canonicalBytes() == JSONValue.object(b.member).canonicalBytes()
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(signature)
        hasher.combine(JSONValue.object(member).canonicalBytes())
    }

    /// Reads a document (strict JSON: `JSONParser`, duplicate member names refused).
    /// - Throws: `malformed-directory` problems: not JSON, no `directory` object, a `signature`
    ///   without its four strings, or with `batch`.
    public init(bytes: some Collection<UInt8>) throws(DirectoryError) {
        let json: JSONValue
        do throws(JSONParseError) {
            json = try JSONParser.parse(bytes)
        } catch {
            throw DirectoryError([DirectoryProblem(.malformed, at: .root, "not JSON: \(error.description)")])
        }
        try self.init(json: json)
    }

    /// Reads a parsed document. Members the contract does not define are ignored here (inside
    /// `directory` the signature covers them all the same).
    public init(json: JSONValue) throws(DirectoryError) {
        var problems: [DirectoryProblem] = []
        guard let document = json.objectValue else {
            throw DirectoryError([DirectoryProblem(.malformed, at: .root, "a directory document must be a JSON object")])
        }
        let member = document["directory"]?.objectValue
        if member == nil {
            problems.append(DirectoryProblem(.malformed, at: .directory, "the directory member (an object) is missing"))
        }
        var block: SignatureBlock?
        if let object = document["signature"]?.objectValue, let alg = object["alg"]?.stringValue,
            let keyId = object["keyId"]?.stringValue, let certificate = object["certificate"]?.stringValue,
            let value = object["value"]?.stringValue
        {
            if object["batch"] != nil {
                problems.append(
                    DirectoryProblem(.malformed, at: JSONPointer.signature.appending("batch"), "a directory is never batch-signed"))
            }
            block = SignatureBlock(alg: alg, keyId: keyId, certificate: certificate, value: value)
        } else {
            problems.append(
                DirectoryProblem(.malformed, at: .signature, "the signature member must be an object with alg, keyId, certificate and value strings"))
        }
        guard problems.isEmpty, let member, let block else { throw DirectoryError(problems) }
        self.init(member: member, signature: block)
    }

    /// Signs `directory` with the signing root `authority` (its key over the JCS of the member).
    public static func sign(_ directory: Directory, by authority: CertificateAuthority) throws -> SignedDirectory {
        let value = try authority.key.sign(directory.canonicalBytes())
        let signature = SignatureBlock(
            alg: authority.key.algorithm.rawValue, keyId: authority.certificate.keyId,
            certificate: Data(authority.certificate.der).base64EncodedString(), value: Data(value).base64EncodedString())
        return SignedDirectory(member: directory.member, signature: signature)
    }

    /// The content, checked against the content rules.
    public func content() throws(DirectoryError) -> Directory { try Directory(member: member) }

    /// Checks the signature, in envelope.md's order: algorithm known; `certificate` readable and
    /// byte-equal to one of `anchors` (the node's signing trust anchors: the root itself, never a
    /// certificate chaining to it); `keyId` names it; within its validity at `time`; algorithm matching
    /// its key; the signature verifies over the JCS of the `directory` member.
    /// - Returns: the root that signed, or the failure with envelope.md's reason code.
    public func verifySignature(anchors: [Certificate], at time: Date = Date()) -> Result<Certificate, VerificationFailure> {
        guard let algorithm = SignatureAlgorithm(name: signature.alg) else {
            return .failure(VerificationFailure(.unsupportedAlgorithm, "signature algorithm is not SM2-SM3, ES256 or Ed25519"))
        }
        guard let der = Data(base64Encoded: signature.certificate) else {
            return .failure(VerificationFailure(.untrustedCertificate, "the signature's certificate is not base64"))
        }
        guard let root = anchors.first(where: { $0.der.elementsEqual(der) }) else {
            return .failure(VerificationFailure(.untrustedCertificate, "the directory is not signed by a signing root this node trusts"))
        }
        guard signature.keyId == root.keyId else {
            return .failure(VerificationFailure(.untrustedCertificate, "keyId does not name the certificate"))
        }
        if time > root.notAfter {
            return .failure(VerificationFailure(.expiredCertificate, "the signing root \(root.serial) expired"))
        }
        if time < root.notBefore {
            return .failure(VerificationFailure(.notYetValidCertificate, "the signing root \(root.serial) is not yet valid"))
        }
        guard root.algorithm == algorithm else {
            return .failure(VerificationFailure(.algorithmMismatch, "\(signature.alg) signature with a \(root.algorithm) root"))
        }
        guard let value = Data(base64Encoded: signature.value),
            root.publicKey.isValidSignature([UInt8](value), for: JSONValue.object(member).canonicalBytes())
        else { return .failure(VerificationFailure(.badSignature, "the signature does not verify over the directory member")) }
        return .success(root)
    }

    /// `verifySignature` as a problem at `/signature` (nil when the signature holds).
    public func signatureProblem(anchors: [Certificate], at time: Date) -> DirectoryProblem? {
        guard case .failure(let failure) = verifySignature(anchors: anchors, at: time) else { return nil }
        return DirectoryProblem(DirectoryProblem.Code(rawValue: failure.code.rawValue), at: .signature, failure.message)
    }

    /// The signature and the content rules together: the directory, or every problem found.
    public func verify(anchors: [Certificate], at time: Date) -> Result<Directory, DirectoryError> {
        let signatureProblems = signatureProblem(anchors: anchors, at: time).map { [$0] } ?? []
        do throws(DirectoryError) {
            let directory = try content()
            return signatureProblems.isEmpty ? .success(directory) : .failure(DirectoryError(signatureProblems))
        } catch {
            return .failure(DirectoryError(signatureProblems + error.problems))
        }
    }

    /// The document as JSON.
    public var json: JSONValue {
        .object(JSONObject(["directory": .object(member), "signature": signature.json]))
    }

    /// The document serialized with RFC 8785 (what `xgw directory sign` writes, and what a node
    /// serves and keeps).
    public func canonicalBytes() -> [UInt8] { json.canonicalBytes() }
}

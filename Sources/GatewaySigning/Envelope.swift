import Foundation
import GatewayModel

/// A signed envelope (envelope.md): the `envelope` header, the canonical record as `payload`, and
/// the `signature` over the RFC 8785 serialization of the header.
///
/// `header` is kept exactly as received so that members added by later versions of envelope.md
/// stay covered by the signature check.
public struct Envelope: Sendable, Hashable {
    /// The `envelope` member. A sealed envelope keeps its header as the fields `seal` wrote
    /// (`sealedHeader`) and builds this object only when asked for it.
    public var header: JSONObject {
        get { storedHeader ?? sealedHeader?.object ?? JSONObject() }
        set {
            storedHeader = newValue
            sealedHeader = nil
            canonicalHeader = nil
        }
    }
    /// The `payload` member: the canonical record.
    public var payload: JSONValue { didSet { canonicalPayload = nil } }
    /// The `signature` member.
    public var signature: SignatureBlock

    /// `header` as received or set; nil while `sealedHeader` stands for it.
    private var storedHeader: JSONObject?
    /// The header of an envelope sealed here, as its fields.
    private var sealedHeader: SealedHeader?
    /// JCS bytes of `header` and `payload` computed while sealing, reused by `canonicalBytes()`
    /// and `verify`; cleared whenever the member changes.
    private var canonicalHeader: [UInt8]?
    private var canonicalPayload: [UInt8]?

    public init(header: JSONObject, payload: JSONValue, signature: SignatureBlock) {
        self.storedHeader = header
        self.payload = payload
        self.signature = signature
    }

    public static func == (a: Envelope, b: Envelope) -> Bool {
        a.header == b.header && a.payload == b.payload && a.signature == b.signature
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(header)
        hasher.combine(payload)
        hasher.combine(signature)
    }

    public var id: String? { sealedHeader.map(\.id) ?? header["id"]?.stringValue }
    public var kind: String? { sealedHeader.map(\.kind) ?? header["kind"]?.stringValue }
    public var recordId: String? { sealedHeader.map(\.recordId) ?? header["recordId"]?.stringValue }
    public var from: String? { sealedHeader.map(\.from) ?? header["from"]?.stringValue }
    public var to: [String] { sealedHeader.map(\.to) ?? header["to"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public var createdAt: String? { sealedHeader.map(\.createdAt) ?? header["createdAt"]?.stringValue }
    /// `payloadDigest` as a JSON object (`alg`, `value`), as the header carries it.
    public var payloadDigest: JSONValue? { sealedHeader.map(\.payloadDigest) ?? header["payloadDigest"] }

    /// Builds and signs an envelope around `payload` (which is serialized with JCS, digested with the
    /// signer's digest, and carried unchanged).
    public static func seal(
        payload: JSONValue, kind: String, recordId: String, from: String, to: [String],
        createdAt: Date = Date(), id: String = UUIDv7.generate(), signer: Signer
    ) throws -> Envelope {
        var envelope = unsigned(
            payload: payload, kind: kind, recordId: recordId, from: from, to: to, createdAt: createdAt, id: id,
            algorithm: signer.algorithm)
        envelope.signature = try signer.signature(over: envelope.signedBytes)
        return envelope
    }

    /// The envelope `seal` builds, with an empty `signature` member: the header, its JCS bytes and
    /// the payload's, computed once (`Envelope.sealBatch` signs many of these with one signature).
    static func unsigned(
        payload: JSONValue, kind: String, recordId: String, from: String, to: [String],
        createdAt: Date, id: String, algorithm: SignatureAlgorithm
    ) -> Envelope {
        let digestAlgorithm = algorithm.payloadDigest
        // The payload's JCS is digested where it was written, then copied out once.
        var writer = CanonicalWriter(capacity: 2048)
        writer.appendCanonical(payload)
        let digest = writer.withBytes { Digest.hex(digestAlgorithm, UnsafeRawBufferPointer($0)) }
        let header = SealedHeader(
            id: id, kind: kind, recordId: recordId, from: from, to: to, createdAt: Timestamp.string(createdAt),
            digestAlgorithm: digestAlgorithm, digest: digest)
        var envelope = Envelope(
            sealedHeader: header, payload: payload,
            signature: SignatureBlock(alg: algorithm.rawValue, keyId: "", certificate: "", value: ""))
        envelope.canonicalHeader = header.canonicalBytes()
        envelope.canonicalPayload = writer.bytes()
        return envelope
    }

    private init(sealedHeader: SealedHeader, payload: JSONValue, signature: SignatureBlock) {
        self.sealedHeader = sealedHeader
        self.payload = payload
        self.signature = signature
    }

    /// The bytes the signature signs (directly, or as a batch leaf): the JCS of the header.
    public var signedBytes: [UInt8] { canonicalHeader ?? JSONValue.object(header).canonicalBytes() }

    /// Computes the JCS bytes of the header and the payload now, once, for `verify`,
    /// `signedBytes`, `payloadMatchesDigest` and `canonicalBytes()` to reuse: a node receiving an
    /// envelope from a peer verifies it, compares its header and stores its canonical bytes, which
    /// would otherwise serialize the header three times and the payload twice.
    public mutating func computeCanonicalBytes() {
        if canonicalHeader == nil { canonicalHeader = JSONValue.object(header).canonicalBytes() }
        if canonicalPayload == nil { canonicalPayload = payload.canonicalBytes() }
    }

    /// Seals a canonical record, taking `kind` and `recordId` from the record itself.
    public static func seal(
        record: JSONValue, from: String, to: [String], createdAt: Date = Date(), signer: Signer
    ) throws -> Envelope {
        let view = record.canonicalRecord
        guard let kind = view.kindName, let recordId = view.recordId else {
            throw SigningError(.invalidInput, "the record has no kind or recordId")
        }
        return try seal(payload: record, kind: kind, recordId: recordId, from: from, to: to, createdAt: createdAt, signer: signer)
    }

    /// Reads an envelope from its JSON; only the shape is checked here (`verify` does the rest).
    public init(json: JSONValue) throws(VerificationFailure) {
        guard let object = json.objectValue, let header = object["envelope"]?.objectValue, let payload = object["payload"] else {
            throw VerificationFailure(.malformedEnvelope, "not an envelope")
        }
        self.init(header: header, payload: payload, signature: try SignatureBlock(json: object["signature"]))
    }

    /// The whole envelope serialized with RFC 8785 (one NDJSON line), reusing the bytes computed
    /// while sealing.
    public func canonicalBytes() -> [UInt8] {
        let headerBytes = canonicalHeader ?? JSONValue.object(header).canonicalBytes()
        let payloadBytes = canonicalPayload ?? payload.canonicalBytes()
        var out: [UInt8] = []
        out.reserveCapacity(headerBytes.count + payloadBytes.count + signature.certificate.utf8.count + 256)
        out.append(contentsOf: "{\"envelope\":".utf8)
        out.append(contentsOf: headerBytes)
        out.append(contentsOf: ",\"payload\":".utf8)
        out.append(contentsOf: payloadBytes)
        out.append(contentsOf: ",\"signature\":".utf8)
        signature.json.writeCanonical(to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The whole envelope as JSON (`envelope`, `payload`, `signature`).
    public var json: JSONValue {
        .object(JSONObject(["envelope": .object(header), "payload": payload, "signature": signature.json]))
    }

    /// Whether the payload's RFC 8785 bytes have the digest the header names (no signature check:
    /// a node eliminating a duplicate by id compares against what it verified before).
    public var payloadMatchesDigest: Bool {
        guard let digest = payloadDigest?.objectValue, let name = digest["alg"]?.stringValue,
            let algorithm = DigestAlgorithm(rawValue: name), let value = digest["value"]?.stringValue
        else { return false }
        return Hex.encode(Digest.compute(algorithm, canonicalPayload ?? payload.canonicalBytes())) == value
    }

    /// Verifies the envelope at `time` against `trust`: shape, algorithm, certificate (chain,
    /// validity, revocation, key id), signature over the JCS header (or, with `signature.batch`,
    /// over the batch statement its path folds to), sender identity (`from`), and finally the
    /// payload digest. Returns the signer's certificate or the first failure.
    public func verify(trust: TrustStore, at time: Date = Date()) -> Result<Certificate, VerificationFailure> {
        let header = self.header  // built once for a sealed envelope
        guard header["version"]?.numberValue?.intValue == 1, id != nil, kind != nil, recordId != nil,
              let from, header["to"]?.arrayValue != nil, createdAt != nil,
              let digest = payloadDigest?.objectValue, let digestName = digest["alg"]?.stringValue,
              let digestValue = digest["value"]?.stringValue
        else { return .failure(VerificationFailure(.malformedEnvelope, "envelope header incomplete")) }
        let checked = signature.verify(message: signedBytes, signerID: from, trust: trust, at: time)
        guard case .success(let certificate) = checked else { return checked }
        guard let digestAlgorithm = DigestAlgorithm(rawValue: digestName),
              digestAlgorithm == certificate.algorithm.payloadDigest
        else { return .failure(VerificationFailure(.algorithmMismatch, "payload digest \(digestName) with \(signature.alg)")) }
        guard Hex.encode(Digest.compute(digestAlgorithm, canonicalPayload ?? payload.canonicalBytes())) == digestValue else {
            return .failure(VerificationFailure(.digestMismatch, "payload digest does not match"))
        }
        return .success(certificate)
    }
}

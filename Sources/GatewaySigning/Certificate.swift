import COpenSSL
import Foundation

/// An X.509 certificate. Immutable; owns its `X509`.
///
/// SM2-signed certificates get the distinguishing ID `1234567812345678` attached
/// (`X509_set0_distinguishing_id`) so that OpenSSL 3.0 can verify their signature in a chain.
public final class Certificate: @unchecked Sendable, CustomStringConvertible {
    let x509: OpaquePointer
    /// The DER encoding, exactly as read or issued.
    public let der: [UInt8]
    /// The subject public key.
    public let publicKey: PublicKey
    /// envelope.md's `signature.keyId`: lower-case hex SHA-256 of `der`. For a node certificate this
    /// is also the directory's pin (`tlsCertificateSha256`, federation.md).
    public let keyId: String
    /// The serial number, lower-case hex without leading zeros.
    public let serial: String
    /// The subject's common name (UTF-8), when present.
    public let commonName: String?
    /// The issuer's common name (UTF-8), when present.
    public let issuerCommonName: String?
    /// Every URI of the subjectAltName extension.
    public let uris: [String]
    /// Every entry of the subjectAltName extension, by kind (URIs as in `uris`, DNS names, IP addresses).
    public let alternativeNames: SubjectAltNames
    public let notBefore: Date
    public let notAfter: Date

    /// The URI prefix of an office identity in subjectAltName.
    public static let officeURIPrefix = "urn:xgw:office:"

    /// The URI prefix of a node identity in subjectAltName (node certificates, federation.md).
    public static let nodeURIPrefix = "urn:xgw:node:"

    /// The office ids named by `urn:xgw:office:<id>` URIs in subjectAltName.
    public var officeIDs: [String] { Self.ids(in: uris, prefix: Self.officeURIPrefix) }

    /// The node ids named by `urn:xgw:node:<id>` URIs in subjectAltName. A node certificate has
    /// exactly one; a peer presenting another count is refused (`unknown-node`).
    public var nodeIDs: [String] { Self.ids(in: uris, prefix: Self.nodeURIPrefix) }

    /// The DNS names of subjectAltName (where a node is reached).
    public var dnsNames: [String] { alternativeNames.dnsNames }

    /// The IP addresses of subjectAltName, as text (`192.0.2.1`, `2001:db8::1`).
    public var ipAddresses: [String] { alternativeNames.ipAddresses }

    /// The ids after `prefix` among `uris`.
    static func ids(in uris: [String], prefix: String) -> [String] {
        uris.compactMap { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : nil }
    }

    /// Reads one DER certificate; trailing bytes are rejected.
    public convenience init(der: [UInt8]) throws {
        guard let x509 = OpenSSL.fromDER(der, { d2i_X509(nil, $0, $1) }) else {
            throw OpenSSL.error(.invalidCertificate, "cannot read DER certificate")
        }
        try self.init(owning: x509, der: der)
    }

    /// Reads the first certificate of a PEM text.
    public convenience init(pem: [UInt8]) throws {
        let x509 = try OpenSSL.withReadBIO(pem) { PEM_read_bio_X509($0, nil, nil, nil) }
        guard let x509 else { throw OpenSSL.error(.invalidCertificate, "cannot read PEM certificate") }
        let der: [UInt8]
        do {
            der = try OpenSSL.der("i2d_X509") { i2d_X509(x509, $0) }
        } catch {
            X509_free(x509)
            throw error
        }
        try self.init(owning: x509, der: der)
    }

    /// Reads the first certificate of a PEM file.
    public convenience init(file path: String) throws {
        try self.init(pem: try FileBytes.read(path))
    }

    /// Every certificate of a PEM text (a bundle of trust anchors, for instance).
    public static func all(pem: [UInt8]) throws -> [Certificate] {
        try OpenSSL.withReadBIO(pem) { bio in
            var certificates: [Certificate] = []
            while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) {
                let der: [UInt8]
                do { der = try OpenSSL.der("i2d_X509") { i2d_X509(x509, $0) } } catch {
                    X509_free(x509)
                    throw error
                }
                certificates.append(try Certificate(owning: x509, der: der))
            }
            _ = OpenSSL.drainErrors()  // the end of the PEM text leaves a "no start line" error behind
            guard !certificates.isEmpty else { throw SigningError(.invalidCertificate, "no PEM certificate found") }
            return certificates
        }
    }

    /// Takes ownership of `x509`.
    private init(owning x509: OpaquePointer, der: [UInt8]) throws {
        self.x509 = x509
        self.der = der
        if X509_get_signature_nid(x509) == NID_SM2_with_SM3, let id = OpenSSL.sm2IDOctetString() {
            X509_set0_distinguishing_id(x509, id)
        }
        guard let pkey = X509_get_pubkey(x509) else {
            X509_free(x509)
            throw OpenSSL.error(.invalidCertificate, "certificate without a readable public key")
        }
        do {
            publicKey = try PublicKey(owning: pkey)
        } catch {
            X509_free(x509)
            throw error
        }
        keyId = Hex.encode(Digest.compute(.sha256, der))
        serial = Self.hexSerial(X509_get0_serialNumber(x509)) ?? ""
        commonName = Self.commonName(X509_get_subject_name(x509))
        issuerCommonName = Self.commonName(X509_get_issuer_name(x509))
        alternativeNames = SubjectAltNames(certificate: x509)
        uris = alternativeNames.uris
        notBefore = Self.date(X509_get0_notBefore(x509)) ?? .distantFuture
        notAfter = Self.date(X509_get0_notAfter(x509)) ?? .distantPast
    }

    deinit { X509_free(x509) }

    public var description: String {
        "Certificate(serial \(serial), \(commonName ?? "no CN"), \(uris.joined(separator: " ")))"
    }

    /// The algorithm of the subject key.
    public var algorithm: SignatureAlgorithm { publicKey.algorithm }

    /// PEM `CERTIFICATE`.
    public func pem() throws -> [UInt8] {
        try OpenSSL.writeBIO("PEM_write_bio_X509") { PEM_write_bio_X509($0, x509) }
    }

    /// Whether the key usage extension allows digitalSignature (absent extension: any usage).
    public var allowsDigitalSignature: Bool { X509_get_key_usage(x509) & UInt32(KU_DIGITAL_SIGNATURE) != 0 }

    /// Whether the certificate has an extendedKeyUsage extension naming both TLS server and client
    /// authentication, as node certificates do (each node is server and client to its peers). Office
    /// certificates have no extendedKeyUsage: false.
    public var allowsTLSServerAndClient: Bool {
        guard X509_get_extension_flags(x509) & UInt32(EXFLAG_XKUSAGE) != 0 else { return false }
        let usage = X509_get_extended_key_usage(x509)
        return usage & UInt32(XKU_SSL_SERVER) != 0 && usage & UInt32(XKU_SSL_CLIENT) != 0
    }

    /// Whether `issuer`'s key signed this certificate (for SM2, with the distinguishing ID).
    public func isSigned(by issuer: Certificate) -> Bool {
        let result = X509_verify(x509, issuer.publicKey.pkey)
        if result != 1 { _ = OpenSSL.drainErrors() }
        return result == 1
    }

    /// Whether the basicConstraints extension says CA:TRUE.
    public var isCA: Bool { X509_check_ca(x509) != 0 }

    // MARK: - Field extraction

    static func hexSerial(_ integer: UnsafePointer<ASN1_INTEGER>?) -> String? {
        guard let integer, let bn = ASN1_INTEGER_to_BN(integer, nil) else { return nil }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return nil }
        defer { xgw_OPENSSL_free(hex) }
        let text = String(cString: hex).lowercased()
        return text == "0" ? "0" : String(text.drop(while: { $0 == "0" }))
    }

    static func commonName(_ name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) else {
            return nil
        }
        return utf8(data)
    }

    static func utf8(_ string: UnsafePointer<ASN1_STRING>?) -> String? {
        guard let string else { return nil }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = ASN1_STRING_to_UTF8(&out, string)
        guard length >= 0, let out else { return nil }
        defer { xgw_OPENSSL_free(out) }
        return String(decoding: UnsafeBufferPointer(start: out, count: Int(length)), as: UTF8.self)
    }

    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}

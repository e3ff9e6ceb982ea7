import COpenSSL
import Foundation

/// A PKCS#10 certificate request (`.csr.pem`): how a node asks the alliance for a certificate for a
/// key that never leaves it (federation.md, "Keys are made where they are used"). Immutable; owns
/// its `X509_REQ`.
///
/// SM2-signed requests get the distinguishing ID `1234567812345678` attached
/// (`X509_REQ_set0_distinguishing_id`), so their self-signature is made and checked as
/// `openssl req -verify -vfyopt distid:1234567812345678` does.
public final class CertificateRequest: @unchecked Sendable {
    let request: OpaquePointer
    /// The DER encoding, exactly as read or made.
    public let der: [UInt8]
    /// The subject public key.
    public let publicKey: PublicKey
    /// The subject's common name (UTF-8), when present.
    public let commonName: String?
    /// The subjectAltName of the extension request (empty when the request asks for none).
    public let alternativeNames: SubjectAltNames

    /// The algorithm of the subject key.
    public var algorithm: SignatureAlgorithm { publicKey.algorithm }

    /// Reads one DER request; trailing bytes are rejected.
    public convenience init(der: [UInt8]) throws {
        guard let request = OpenSSL.fromDER(der, { d2i_X509_REQ(nil, $0, $1) }) else {
            throw OpenSSL.error(.invalidCertificate, "cannot read the DER certificate request")
        }
        try self.init(owning: request, der: der)
    }

    /// Reads the first request of a PEM text (`CERTIFICATE REQUEST`).
    public convenience init(pem: [UInt8]) throws {
        let request = try OpenSSL.withReadBIO(pem) { PEM_read_bio_X509_REQ($0, nil, nil, nil) }
        guard let request else { throw OpenSSL.error(.invalidCertificate, "cannot read the PEM certificate request") }
        let der: [UInt8]
        do { der = try OpenSSL.der("i2d_X509_REQ") { i2d_X509_REQ(request, $0) } } catch {
            X509_REQ_free(request)
            throw error
        }
        try self.init(owning: request, der: der)
    }

    /// Reads the first request of a PEM file.
    public convenience init(file path: String) throws {
        try self.init(pem: try FileBytes.read(path))
    }

    /// Takes ownership of `request`.
    private init(owning request: OpaquePointer, der: [UInt8]) throws {
        self.request = request
        self.der = der
        if X509_REQ_get_signature_nid(request) == NID_SM2_with_SM3, let id = OpenSSL.sm2IDOctetString() {
            X509_REQ_set0_distinguishing_id(request, id)
        }
        guard let pkey = X509_REQ_get_pubkey(request) else {
            X509_REQ_free(request)
            throw OpenSSL.error(.invalidCertificate, "certificate request without a readable public key")
        }
        do {
            publicKey = try PublicKey(owning: pkey)
            alternativeNames = try Self.requestedAlternativeNames(request)
        } catch let error as SigningError {
            X509_REQ_free(request)
            throw SigningError(.invalidKey, "the request's \(error.code == .unsupportedAlgorithm ? "key is not SM2, P-256 or Ed25519" : error.message)")
        }
        commonName = Certificate.commonName(X509_REQ_get_subject_name(request))
    }

    deinit { X509_REQ_free(request) }

    /// Whether the request's signature verifies under its own public key (proof that whoever made
    /// it holds the private key); for SM2 with the distinguishing ID.
    public var isSelfSignatureValid: Bool {
        let result = X509_REQ_verify(request, publicKey.pkey)
        if result != 1 { _ = OpenSSL.drainErrors() }
        return result == 1
    }

    /// PEM `CERTIFICATE REQUEST`.
    public func pem() throws -> [UInt8] {
        try OpenSSL.writeBIO("PEM_write_bio_X509_REQ") { PEM_write_bio_X509_REQ($0, request) }
    }

    /// A request signed by `key` (SM2 with the distinguishing ID) with subject CN `commonName` and,
    /// unless `names` is empty, a subjectAltName extension request holding its URIs, DNS names and IP
    /// addresses (each taken as is: the issuer checks them).
    /// - Throws: `SigningError.pki` for `names.others` or an IP address that cannot be read.
    public static func make(key: PrivateKey, commonName: String, names: SubjectAltNames) throws -> CertificateRequest {
        guard names.others.isEmpty else { throw SigningError(.pki, "a request carries only URI, DNS and IP subjectAltNames") }
        guard let request = X509_REQ_new() else { throw OpenSSL.error(.cryptoFailure, "X509_REQ_new") }
        defer { X509_REQ_free(request) }
        guard X509_REQ_set_version(request, 0) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_REQ_set_version") }
        try CertificateBuilder.withName(commonName) { name in
            guard X509_REQ_set_subject_name(request, name) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_REQ_set_subject_name") }
        }
        guard X509_REQ_set_pubkey(request, key.pkey) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_REQ_set_pubkey") }
        if !names.isEmpty { try addAlternativeNames(names, to: request) }
        let signed = try key.withSigningContext { X509_REQ_sign_ctx(request, $0) }
        guard signed > 0 else { throw OpenSSL.error(.cryptoFailure, "X509_REQ_sign_ctx") }
        return try CertificateRequest(der: try OpenSSL.der("i2d_X509_REQ") { i2d_X509_REQ(request, $0) })
    }

    // MARK: - subjectAltName in the extension request

    /// The subjectAltName of the request's extensions; a request with two is refused.
    private static func requestedAlternativeNames(_ request: OpaquePointer) throws -> SubjectAltNames {
        guard let extensions = X509_REQ_get_extensions(request) else {
            _ = OpenSSL.drainErrors()
            return SubjectAltNames()
        }
        defer { freeExtensions(extensions) }
        var critical: Int32 = 0
        guard let raw = X509V3_get_d2i(extensions, NID_subject_alt_name, &critical, nil) else {
            _ = OpenSSL.drainErrors()
            if critical == -2 { throw SigningError(.pki, "the request has more than one subjectAltName extension") }
            return SubjectAltNames()
        }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        return SubjectAltNames(generalNames: names)
    }

    /// Builds the GENERAL_NAMES directly (no extension string to escape) and adds them as the
    /// request's extensions.
    private static func addAlternativeNames(_ names: SubjectAltNames, to request: OpaquePointer) throws {
        guard let stack = OPENSSL_sk_new_null() else { throw OpenSSL.error(.cryptoFailure, "GENERAL_NAMES") }
        defer { GENERAL_NAMES_free(stack) }
        func append(_ type: Int32, _ bytes: [UInt8]) throws {
            guard let name = GENERAL_NAME_new() else { throw OpenSSL.error(.cryptoFailure, "GENERAL_NAME_new") }
            guard let value = ASN1_STRING_type_new(type == GEN_IPADD ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING),
                  ASN1_STRING_set(value, bytes, Int32(bytes.count)) == 1
            else {
                GENERAL_NAME_free(name)
                throw OpenSSL.error(.cryptoFailure, "ASN1_STRING_set")
            }
            GENERAL_NAME_set0_value(name, type, UnsafeMutableRawPointer(value))
            guard OPENSSL_sk_push(stack, UnsafeRawPointer(name)) > 0 else {
                GENERAL_NAME_free(name)
                throw OpenSSL.error(.cryptoFailure, "OPENSSL_sk_push")
            }
        }
        for uri in names.uris { try append(GEN_URI, Array(uri.utf8)) }
        for dns in names.dnsNames { try append(GEN_DNS, Array(dns.utf8)) }
        for address in names.ipAddresses {
            guard let bytes = SubjectAltNames.ipBytes(address) else { throw SigningError(.pki, "IP:\(address) is not an IPv4 or IPv6 address") }
            try append(GEN_IPADD, bytes)
        }
        var extensions: OpaquePointer? = nil
        guard X509V3_add1_i2d(&extensions, NID_subject_alt_name, UnsafeMutableRawPointer(stack), 0, UInt(X509V3_ADD_DEFAULT)) == 1,
              let extensions
        else { throw OpenSSL.error(.cryptoFailure, "X509V3_add1_i2d") }
        defer { freeExtensions(extensions) }
        guard X509_REQ_add_extensions(request, extensions) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_REQ_add_extensions") }
    }

    /// `sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free)` (a macro in C).
    private static func freeExtensions(_ extensions: OpaquePointer) {
        OPENSSL_sk_pop_free(extensions) { X509_EXTENSION_free(OpaquePointer($0)) }
    }
}

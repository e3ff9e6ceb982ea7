import COpenSSL
import Foundation

/// The alliance certificate authority: a root key with its self-signed certificate, issuing one
/// certificate per office and signing the CRL (envelope.md, "Certificates").
public struct CertificateAuthority: Sendable {
    public let key: PrivateKey
    public let certificate: Certificate

    public init(key: PrivateKey, certificate: Certificate) throws {
        guard try key.publicKey.matches(certificate.publicKey) else {
            throw SigningError(.keyMismatch, "the CA key does not belong to the CA certificate")
        }
        self.key = key
        self.certificate = certificate
    }

    /// A new root: a fresh key of `algorithm` and a self-signed CA certificate
    /// (basicConstraints CA:TRUE critical, keyUsage keyCertSign+cRLSign critical).
    public static func create(
        algorithm: SignatureAlgorithm, commonName: String, notBefore: Date = Date(), days: Int = 3650
    ) throws -> CertificateAuthority {
        let key = try PrivateKey.generate(algorithm)
        let certificate = try CertificateBuilder.build(
            subjectKey: key.publicKey, commonName: commonName, issuer: nil, issuerKey: key,
            notBefore: notBefore, notAfter: notBefore.addingTimeInterval(TimeInterval(days) * 86_400),
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ]
        )
        return try CertificateAuthority(key: key, certificate: certificate)
    }

    /// Issues an office certificate: `urn:xgw:office:<officeID>` in subjectAltName, `commonName`
    /// (UTF-8, the office's display name) as subject CN, keyUsage digitalSignature (critical),
    /// basicConstraints CA:FALSE, a random 128-bit serial.
    public func issue(
        officeID: String, commonName: String, subjectKey: PublicKey,
        notBefore: Date = Date(), notAfter: Date
    ) throws -> Certificate {
        guard Self.isValidOfficeID(officeID) else {
            throw SigningError(.pki, "office id must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")
        }
        return try issueEndEntity(
            commonName: commonName, subjectKey: subjectKey, notBefore: notBefore, notAfter: notAfter,
            subjectAltName: "URI:\(Certificate.officeURIPrefix)\(officeID)")
    }

    /// Issues a node certificate (federation.md, "Certificates"): a P-256 `subjectKey`,
    /// `urn:xgw:node:<nodeID>` plus the DNS names and IP addresses of `names` in subjectAltName, the
    /// node id as subject CN, keyUsage digitalSignature (critical), extendedKeyUsage serverAuth and
    /// clientAuth, basicConstraints CA:FALSE, a random 128-bit serial. Issue it from the TLS root.
    /// - Throws: `SigningError.pki` for an invalid node id, a key that is not P-256, or a URI or
    ///   other entry in `names` (the identity URI is added here).
    public func issueNode(
        nodeID: String, names: SubjectAltNames, subjectKey: PublicKey, notBefore: Date = Date(), notAfter: Date
    ) throws -> Certificate {
        guard Self.isValidNodeID(nodeID) else {
            throw SigningError(.pki, "node id must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")
        }
        guard subjectKey.algorithm == .es256 else {
            throw SigningError(.pki, "a node key must be ECDSA P-256, not \(subjectKey.algorithm)")
        }
        guard names.uris.isEmpty, names.others.isEmpty,
              names.dnsNames.allSatisfy({ SubjectAltNames.normalizedDNSName($0) == $0 }),
              names.ipAddresses.allSatisfy({ SubjectAltNames.normalizedIPAddress($0) == $0 })
        else { throw SigningError(.pki, "a node certificate's extra subjectAltNames must be DNS names and IP addresses") }
        var altNames = names
        altNames.uris = [Certificate.nodeURIPrefix + nodeID]
        return try issueEndEntity(
            commonName: nodeID, subjectKey: subjectKey, notBefore: notBefore, notAfter: notAfter,
            extendedKeyUsage: "serverAuth,clientAuth", subjectAltName: altNames.opensslValue)
    }

    /// A certificate for a subject key from this CA: basicConstraints CA:FALSE, keyUsage
    /// digitalSignature (both critical), `extendedKeyUsage` when given, key identifiers, `subjectAltName`.
    private func issueEndEntity(
        commonName: String, subjectKey: PublicKey, notBefore: Date, notAfter: Date, extendedKeyUsage: String? = nil,
        subjectAltName: String
    ) throws -> Certificate {
        var extensions: [(Int32, String)] = [(NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, "critical,digitalSignature")]
        if let extendedKeyUsage { extensions.append((NID_ext_key_usage, extendedKeyUsage)) }
        extensions += [
            (NID_subject_key_identifier, "hash"), (NID_authority_key_identifier, "keyid:always"), (NID_subject_alt_name, subjectAltName),
        ]
        return try CertificateBuilder.build(
            subjectKey: subjectKey, commonName: commonName, issuer: certificate, issuerKey: key,
            notBefore: notBefore, notAfter: notAfter, extensions: extensions)
    }

    /// A CRL signed by this CA listing `revoked` (serial in hex → revocation date).
    public func makeCRL(
        revoked: [String: Date], number: Int, thisUpdate: Date = Date(), nextUpdate: Date
    ) throws -> CertificateRevocationList {
        guard let crl = X509_CRL_new() else { throw OpenSSL.error(.cryptoFailure, "X509_CRL_new") }
        defer { X509_CRL_free(crl) }
        guard X509_CRL_set_version(crl, 1) == 1,
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(certificate.x509)) == 1
        else { throw OpenSSL.error(.cryptoFailure, "X509_CRL issuer") }
        try CertificateBuilder.withTime(thisUpdate) { guard X509_CRL_set1_lastUpdate(crl, $0) == 1 else { throw OpenSSL.error(.cryptoFailure, "lastUpdate") } }
        try CertificateBuilder.withTime(nextUpdate) { guard X509_CRL_set1_nextUpdate(crl, $0) == 1 else { throw OpenSSL.error(.cryptoFailure, "nextUpdate") } }
        for (serial, date) in revoked.sorted(by: { $0.key < $1.key }) {
            guard let entry = X509_REVOKED_new() else { throw OpenSSL.error(.cryptoFailure, "X509_REVOKED_new") }
            do {
                try CertificateBuilder.withInteger(hex: serial) { integer in
                    guard X509_REVOKED_set_serialNumber(entry, integer) == 1 else { throw OpenSSL.error(.cryptoFailure, "revoked serial") }
                }
                try CertificateBuilder.withTime(date) { time in
                    guard X509_REVOKED_set_revocationDate(entry, UnsafeMutablePointer(mutating: time)) == 1 else {
                        throw OpenSSL.error(.cryptoFailure, "revocation date")
                    }
                }
            } catch {
                X509_REVOKED_free(entry)
                throw error
            }
            guard X509_CRL_add0_revoked(crl, entry) == 1 else {
                X509_REVOKED_free(entry)
                throw OpenSSL.error(.cryptoFailure, "X509_CRL_add0_revoked")
            }
        }
        guard X509_CRL_sort(crl) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_CRL_sort") }
        guard let crlNumber = ASN1_INTEGER_new() else { throw OpenSSL.error(.cryptoFailure, "ASN1_INTEGER_new") }
        defer { ASN1_INTEGER_free(crlNumber) }
        guard ASN1_INTEGER_set(crlNumber, number) == 1,
              X509_CRL_add1_ext_i2d(crl, NID_crl_number, crlNumber, 0, 0) == 1
        else { throw OpenSSL.error(.cryptoFailure, "crlNumber") }
        let signed = try key.withSigningContext { X509_CRL_sign_ctx(crl, $0) }
        guard signed > 0 else { throw OpenSSL.error(.cryptoFailure, "X509_CRL_sign_ctx") }
        let der = try OpenSSL.der("i2d_X509_CRL") { i2d_X509_CRL(crl, $0) }
        return try CertificateRevocationList(der: der)
    }

    /// Node ids follow the syntax of office ids (federation.md).
    public static func isValidNodeID(_ id: String) -> Bool { isValidOfficeID(id) }

    /// Office ids go into an OpenSSL extension string, so only a safe alphabet is allowed.
    public static func isValidOfficeID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
        }
    }
}

/// Builds and signs X.509 v3 certificates.
enum CertificateBuilder {
    static func build(
        subjectKey: PublicKey, commonName: String, issuer: Certificate?, issuerKey: PrivateKey,
        notBefore: Date, notAfter: Date, extensions: [(Int32, String)]
    ) throws -> Certificate {
        guard let x509 = X509_new() else { throw OpenSSL.error(.cryptoFailure, "X509_new") }
        defer { X509_free(x509) }
        guard X509_set_version(x509, 2) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_set_version") }
        try withInteger(hex: randomSerial()) { serial in
            guard X509_set_serialNumber(x509, serial) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_set_serialNumber") }
        }
        try withName(commonName) { name in
            guard X509_set_subject_name(x509, name) == 1,
                  X509_set_issuer_name(x509, issuer.map { X509_get_subject_name($0.x509) } ?? name) == 1,
                  X509_set_pubkey(x509, subjectKey.pkey) == 1
            else { throw OpenSSL.error(.cryptoFailure, "X509 names/key") }
        }
        try withTime(notBefore) { guard X509_set1_notBefore(x509, $0) == 1 else { throw OpenSSL.error(.cryptoFailure, "notBefore") } }
        try withTime(notAfter) { guard X509_set1_notAfter(x509, $0) == 1 else { throw OpenSSL.error(.cryptoFailure, "notAfter") } }

        var context = X509V3_CTX()
        xgw_X509V3_set_ctx_nodb(&context)
        X509V3_set_ctx(&context, issuer?.x509 ?? x509, x509, nil, nil, 0)
        for (nid, value) in extensions {
            guard let extensionValue = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw OpenSSL.error(.cryptoFailure, "extension \(nid)")
            }
            defer { X509_EXTENSION_free(extensionValue) }
            guard X509_add_ext(x509, extensionValue, -1) == 1 else { throw OpenSSL.error(.cryptoFailure, "X509_add_ext") }
        }
        let signed = try issuerKey.withSigningContext { X509_sign_ctx(x509, $0) }
        guard signed > 0 else { throw OpenSSL.error(.cryptoFailure, "X509_sign_ctx") }
        let der = try OpenSSL.der("i2d_X509") { i2d_X509(x509, $0) }
        return try Certificate(der: der)
    }

    /// Runs `body` with a name holding one UTF-8 CN (certificates and requests).
    static func withName<T>(_ commonName: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let name = X509_NAME_new() else { throw OpenSSL.error(.cryptoFailure, "X509_NAME_new") }
        defer { X509_NAME_free(name) }
        let cn = Array(commonName.utf8)
        guard !cn.isEmpty, X509_NAME_add_entry_by_NID(name, NID_commonName, xgw_MBSTRING_UTF8(), cn, Int32(cn.count), -1, 0) == 1 else {
            throw OpenSSL.error(.pki, "invalid common name")
        }
        return try body(name)
    }

    /// A random positive 128-bit serial number, hex.
    static func randomSerial() throws -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&bytes, 16) == 1 else { throw OpenSSL.error(.cryptoFailure, "RAND_bytes") }
        bytes[0] = bytes[0] & 0x7f | 0x40  // positive, and always 16 bytes long
        return Hex.encode(bytes)
    }

    static func withInteger<T>(hex: String, _ body: (UnsafeMutablePointer<ASN1_INTEGER>) throws -> T) throws -> T {
        var bn: OpaquePointer? = nil
        guard BN_hex2bn(&bn, hex) > 0, let bn else { throw SigningError(.pki, "invalid serial number") }
        defer { BN_free(bn) }
        guard let integer = BN_to_ASN1_INTEGER(bn, nil) else { throw OpenSSL.error(.cryptoFailure, "BN_to_ASN1_INTEGER") }
        defer { ASN1_INTEGER_free(integer) }
        return try body(integer)
    }

    static func withTime<T>(_ date: Date, _ body: (UnsafePointer<ASN1_TIME>) throws -> T) throws -> T {
        guard let time = ASN1_TIME_set(nil, time_t(date.timeIntervalSince1970.rounded(.down))) else {
            throw OpenSSL.error(.cryptoFailure, "ASN1_TIME_set")
        }
        defer { ASN1_TIME_free(time) }
        return try body(time)
    }
}

import COpenSSL
import Foundation

/// An X.509 CRL. Immutable; owns its `X509_CRL`.
///
/// OpenSSL 3.0 cannot attach an SM2 distinguishing ID to a CRL, so xgw checks CRL signatures itself
/// (`isSigned(by:)`: the TBS bytes against the issuer key, with the ID for SM2) instead of handing
/// CRLs to `X509_verify_cert`.
public final class CertificateRevocationList: @unchecked Sendable {
    let crl: OpaquePointer
    public let der: [UInt8]
    /// Revoked serial numbers, lower-case hex without leading zeros (as `Certificate.serial`).
    public let revokedSerials: Set<String>
    /// Revocation date of each revoked serial.
    public let revocationDates: [String: Date]
    public let thisUpdate: Date?
    public let nextUpdate: Date?
    /// The crlNumber extension, when present.
    public let number: Int?

    /// Whether the CRL is past its announced `nextUpdate` at `time` (a newer one should exist). A
    /// stale CRL still applies: its revocations stand; callers warn (docs/security.md).
    public func isStale(at time: Date) -> Bool {
        guard let nextUpdate else { return false }
        return time > nextUpdate
    }

    public convenience init(der: [UInt8]) throws {
        guard let crl = OpenSSL.fromDER(der, { d2i_X509_CRL(nil, $0, $1) }) else {
            throw OpenSSL.error(.invalidCertificate, "cannot read DER CRL")
        }
        self.init(owning: crl, der: der)
    }

    public convenience init(pem: [UInt8]) throws {
        let crl = try OpenSSL.withReadBIO(pem) { PEM_read_bio_X509_CRL($0, nil, nil, nil) }
        guard let crl else { throw OpenSSL.error(.invalidCertificate, "cannot read PEM CRL") }
        let der: [UInt8]
        do { der = try OpenSSL.der("i2d_X509_CRL") { i2d_X509_CRL(crl, $0) } } catch {
            X509_CRL_free(crl)
            throw error
        }
        self.init(owning: crl, der: der)
    }

    public convenience init(file path: String) throws {
        try self.init(pem: try FileBytes.read(path))
    }

    init(owning crl: OpaquePointer, der: [UInt8]) {
        self.crl = crl
        self.der = der
        var serials: Set<String> = []
        var dates: [String: Date] = [:]
        if let revoked = X509_CRL_get_REVOKED(crl) {
            for index in 0..<OPENSSL_sk_num(revoked) {
                guard let entry = OPENSSL_sk_value(revoked, index) else { continue }
                let item = OpaquePointer(entry)
                guard let serial = Certificate.hexSerial(X509_REVOKED_get0_serialNumber(item)) else { continue }
                serials.insert(serial)
                dates[serial] = Certificate.date(X509_REVOKED_get0_revocationDate(item))
            }
        }
        revokedSerials = serials
        revocationDates = dates
        thisUpdate = Certificate.date(X509_CRL_get0_lastUpdate(crl))
        nextUpdate = Certificate.date(X509_CRL_get0_nextUpdate(crl))
        if let raw = X509_CRL_get_ext_d2i(crl, NID_crl_number, nil, nil) {
            let integer = raw.assumingMemoryBound(to: ASN1_INTEGER.self)
            number = ASN1_INTEGER_get(integer)
            ASN1_INTEGER_free(integer)
        } else {
            number = nil
        }
    }

    deinit { X509_CRL_free(crl) }

    public func pem() throws -> [UInt8] {
        try OpenSSL.writeBIO("PEM_write_bio_X509_CRL") { PEM_write_bio_X509_CRL($0, crl) }
    }

    /// Whether `issuer` names this CRL's issuer and its key signed it.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer.x509)) == 0 else { return false }
        guard let tbs = try? OpenSSL.der("i2d_re_X509_CRL_tbs", { i2d_re_X509_CRL_tbs(crl, $0) }) else { return false }
        var signature: UnsafePointer<ASN1_BIT_STRING>? = nil
        var algorithm: UnsafePointer<X509_ALGOR>? = nil
        X509_CRL_get0_signature(crl, &signature, &algorithm)
        guard let signature, let data = ASN1_STRING_get0_data(signature) else { return false }
        let bytes = Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(signature))))
        return issuer.publicKey.isValidSignature(bytes, for: tbs)
    }

    /// Whether this CRL, from the issuer of `certificate`, lists its serial.
    public func revokes(_ certificate: Certificate) -> Bool {
        X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(certificate.x509)) == 0
            && revokedSerials.contains(certificate.serial)
    }
}

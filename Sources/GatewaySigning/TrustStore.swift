import COpenSSL
import Foundation
import Synchronization

/// The alliance trust anchors and their CRLs: decides whether a signer certificate is acceptable
/// at a given time (`X509_STORE` / `X509_verify_cert`, then the CRLs).
///
/// Chain results are cached per certificate (keyed by its base64 DER): a gateway sees the same few
/// office certificates over and over. Time and revocation are checked on every call.
///
/// `@unchecked Sendable` only because of `store`, an `X509_STORE` C pointer: it is written once in
/// `init` and then only read (`X509_STORE_CTX_init` takes it for verification, which OpenSSL allows
/// from several threads); the cache, the one mutable state, is behind a `Mutex`.
public final class TrustStore: @unchecked Sendable {
    public let roots: [Certificate]
    /// The CRLs, each verified against one of `roots` when the store was made.
    public let revocationLists: [CertificateRevocationList]
    private let store: OpaquePointer
    private let cache = Mutex<[String: CachedChain]>([:])
    private static let cacheLimit = 4096
    /// Batch statements whose signature verified (envelope.md, "Batch signatures"): only the
    /// signature check is cached; `validate` still runs for every envelope.
    public let batchStatements = BatchStatementCache()

    /// A chain check that does not depend on time: the certificate with the validity window of its
    /// whole chain, or the reason it does not chain.
    private struct CachedChain: Sendable {
        var certificate: Certificate?
        var failure: VerificationFailure?
        var notBefore: Date = .distantPast
        var notAfter: Date = .distantFuture
    }

    /// - Throws: `SigningError.invalidCertificate` when a CRL is not signed by any of `roots`
    ///   (an unverifiable CRL is refused rather than silently ignored).
    public init(roots: [Certificate], revocationLists: [CertificateRevocationList] = []) throws {
        guard !roots.isEmpty else { throw SigningError(.invalidCertificate, "no trust anchor") }
        if revocationLists.contains(where: { crl in !roots.contains(where: { crl.isSigned(by: $0) }) }) {
            throw SigningError(.invalidCertificate, "the CRL is not signed by a trust anchor")
        }
        guard let store = X509_STORE_new() else { throw OpenSSL.error(.cryptoFailure, "X509_STORE_new") }
        for root in roots where X509_STORE_add_cert(store, root.x509) != 1 {
            X509_STORE_free(store)
            throw OpenSSL.error(.cryptoFailure, "X509_STORE_add_cert")
        }
        self.store = store
        self.roots = roots
        self.revocationLists = revocationLists
    }

    /// Reads trust anchors (a PEM bundle) and optionally a PEM CRL.
    public convenience init(rootsFile: String, crlFile: String? = nil) throws {
        let roots = try Certificate.all(pem: try FileBytes.read(rootsFile))
        let crls = try crlFile.map { [try CertificateRevocationList(file: $0)] } ?? []
        try self.init(roots: roots, revocationLists: crls)
    }

    deinit { X509_STORE_free(store) }

    /// The CRLs past their `nextUpdate` at `time`. Their revocations still apply; a stale CRL only
    /// means a newer revocation may be missing, which callers report (warnings, not rejections).
    public func staleRevocationLists(at time: Date) -> [CertificateRevocationList] {
        revocationLists.filter { $0.isStale(at: time) }
    }

    /// Checks a certificate given as base64 DER (what envelopes carry): readable, chains to a root,
    /// allows digitalSignature, within the validity of every chain member at `time`, not revoked.
    public func validate(base64Certificate: String, at time: Date) -> Result<Certificate, VerificationFailure> {
        let chain = cachedChain(base64Certificate)
        guard let certificate = chain.certificate else {
            return .failure(chain.failure ?? VerificationFailure(.untrustedCertificate, "certificate rejected"))
        }
        if time > chain.notAfter {
            return .failure(VerificationFailure(.expiredCertificate, "certificate \(certificate.serial) expired"))
        }
        if time < chain.notBefore {
            return .failure(VerificationFailure(.notYetValidCertificate, "certificate \(certificate.serial) not yet valid"))
        }
        if revocationLists.contains(where: { $0.revokes(certificate) }) {
            return .failure(VerificationFailure(.revokedCertificate, "certificate \(certificate.serial) revoked"))
        }
        return .success(certificate)
    }

    /// The same check for a parsed certificate.
    public func validate(_ certificate: Certificate, at time: Date) -> Result<Certificate, VerificationFailure> {
        validate(base64Certificate: Data(certificate.der).base64EncodedString(), at: time)
    }

    private func cachedChain(_ base64: String) -> CachedChain {
        if let hit = cache.withLock({ $0[base64] }) { return hit }
        // Computed outside the lock: two threads may both compute a new certificate's chain once.
        let computed = computeChain(base64)
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[base64] = computed
        }
        return computed
    }

    private func computeChain(_ base64: String) -> CachedChain {
        guard let der = Data(base64Encoded: base64), let certificate = try? Certificate(der: [UInt8](der)) else {
            _ = OpenSSL.drainErrors()
            return CachedChain(failure: VerificationFailure(.untrustedCertificate, "certificate cannot be read"))
        }
        guard let context = X509_STORE_CTX_new() else {
            return CachedChain(failure: VerificationFailure(.untrustedCertificate, "X509_STORE_CTX_new failed"))
        }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificate.x509, nil) == 1 else {
            return CachedChain(failure: VerificationFailure(.untrustedCertificate, OpenSSL.drainErrors()))
        }
        // Time is checked per call against the chain's window; the chain itself is time-independent.
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(context), UInt(X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_X509_STRICT))
        guard X509_verify_cert(context) == 1 else {
            let error = X509_STORE_CTX_get_error(context)
            let text = X509_verify_cert_error_string(Int(error)).map { String(cString: $0) } ?? "error \(error)"
            _ = OpenSSL.drainErrors()
            return CachedChain(failure: VerificationFailure(.untrustedCertificate, "chain: \(text)"))
        }
        guard certificate.allowsDigitalSignature, !certificate.isCA else {
            return CachedChain(failure: VerificationFailure(.untrustedCertificate, "certificate is not for signing"))
        }
        var chain = CachedChain(certificate: certificate, notBefore: certificate.notBefore, notAfter: certificate.notAfter)
        if let members = X509_STORE_CTX_get0_chain(context) {
            for index in 0..<OPENSSL_sk_num(members) {
                guard let member = OPENSSL_sk_value(members, index) else { continue }
                let x509 = OpaquePointer(member)
                if let start = Certificate.date(X509_get0_notBefore(x509)) { chain.notBefore = max(chain.notBefore, start) }
                if let end = Certificate.date(X509_get0_notAfter(x509)) { chain.notAfter = min(chain.notAfter, end) }
            }
        }
        return chain
    }
}

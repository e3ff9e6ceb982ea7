import Foundation

/// The two roots of the alliance PKI (federation.md, "Certificates"): the **signing** root issues
/// office certificates (envelopes, receipts, the directory), the **TLS** root, always ECDSA P-256
/// because TLS stacks have no SM2 cipher suites, issues node certificates for node-to-node TLS.
public enum PKIRoot: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case signing
    case tls

    /// How messages name the root: `alliance root` (as before there were two), `TLS root`.
    public var displayName: String { self == .signing ? "alliance root" : "TLS root" }

    /// File names inside the PKI folder: `ca.key.pem`, `ca.cert.pem`, `crl.pem` / `tls-ca.key.pem`, `tls-ca.cert.pem`, `tls-crl.pem`.
    public var keyFile: String { self == .signing ? "ca.key.pem" : "tls-ca.key.pem" }
    public var certificateFile: String { self == .signing ? "ca.cert.pem" : "tls-ca.cert.pem" }
    public var crlFile: String { self == .signing ? "crl.pem" : "tls-crl.pem" }

    public var description: String { rawValue }
}

extension PKIDirectory {
    /// The TLS root's private key (mode 0600); stays in the alliance's PKI folder, on no node.
    public var tlsCAKeyPath: String { keyPath(.tls) }
    /// The TLS root certificate: the trust anchor of node-to-node TLS (`federation.trust` of a node).
    public var tlsCACertificatePath: String { certificatePath(.tls) }
    /// The TLS CRL, signed by the TLS root: revoked node certificates.
    public var tlsCRLPath: String { crlPath(.tls) }
    /// Node keys, certificates and requests.
    public var nodesDirectory: String { path + "/nodes" }
    public func nodeKeyPath(_ id: String) -> String { nodesDirectory + "/\(id).key.pem" }
    public func nodeCertificatePath(_ id: String) -> String { nodesDirectory + "/\(id).cert.pem" }

    /// The files of a root: key, certificate, CRL.
    public func keyPath(_ root: PKIRoot) -> String { path + "/" + root.keyFile }
    public func certificatePath(_ root: PKIRoot) -> String { path + "/" + root.certificateFile }
    public func crlPath(_ root: PKIRoot) -> String { path + "/" + root.crlFile }

    /// Creates the TLS root (a P-256 key, a self-signed CA certificate, an empty `tls-crl.pem`) in
    /// this folder, which may already hold the signing root (`xgw pki init-tls`). Refuses to
    /// overwrite an existing TLS root unless `force` (every node certificate must then be issued again).
    @discardableResult
    public func initializeTLS(commonName: String, days: Int, force: Bool = false, now: Date = Date()) throws -> CertificateAuthority {
        try refuseExistingRoot(.tls, force: force)
        return try writeRoot(
            .tls,
            CertificateAuthority.create(
                algorithm: .es256, commonName: commonName, notBefore: now.addingTimeInterval(-Self.backdating), days: days),
            now: now)
    }

    /// The TLS root as a trust store with the current TLS CRL: accepts node certificates only.
    public func tlsTrustStore() throws -> TrustStore {
        try TrustStore(
            rootsFile: tlsCACertificatePath, crlFile: FileManager.default.fileExists(atPath: tlsCRLPath) ? tlsCRLPath : nil)
    }

    /// Issues a P-256 key and a node certificate from the TLS root (`xgw pki issue-node`): writes
    /// `nodes/<id>.key.pem` (0600), `nodes/<id>.cert.pem` and `issued/<serial>.cert.pem`. Refuses to
    /// replace a node key unless `force` (the old certificate stays in `issued/`, revocable).
    @discardableResult
    public func issueNode(nodeID: String, names: SubjectAltNames, days: Int, force: Bool = false, now: Date = Date()) throws -> Certificate {
        guard CertificateAuthority.isValidNodeID(nodeID) else {
            throw SigningError(.pki, "node id must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")
        }
        let ca = try authority(.tls)
        if !force && FileManager.default.fileExists(atPath: nodeKeyPath(nodeID)) {
            throw SigningError(.pki, "\(nodeKeyPath(nodeID)) exists (use --force to issue a new key)")
        }
        let key = try PrivateKey.generate(.es256)
        let certificate = try ca.issueNode(
            nodeID: nodeID, names: names, subjectKey: key.publicKey,
            notBefore: now.addingTimeInterval(-Self.backdating), notAfter: now.addingTimeInterval(TimeInterval(days) * 86_400))
        try makeDirectories([path, issuedDirectory, nodesDirectory])
        try FileBytes.writeSecret(try key.pem(), to: nodeKeyPath(nodeID))
        try FileBytes.write(try certificate.pem(), to: nodeCertificatePath(nodeID))
        try FileBytes.write(try certificate.pem(), to: issuedPath(certificate.serial))
        return certificate
    }

    /// The root that issued `certificate`: the TLS root when its key signed it, else the signing
    /// root; a certificate of a replaced root counts by its kind (a node URI: TLS).
    public func issuingRoot(of certificate: Certificate) throws -> PKIRoot {
        if let tls = try? Certificate(file: tlsCACertificatePath), certificate.isSigned(by: tls) { return .tls }
        if let signing = try? Certificate(file: caCertificatePath), certificate.isSigned(by: signing) { return .signing }
        return certificate.nodeIDs.isEmpty ? .signing : .tls
    }
}

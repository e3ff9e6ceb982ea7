import Foundation

/// What a request asks for, by its one subjectAltName URI (federation.md, "Certificates").
public enum CertificateRequestKind: String, Sendable, Hashable, CustomStringConvertible {
    /// `urn:xgw:office:<id>`: a signing certificate from the signing root.
    case office
    /// `urn:xgw:node:<id>`: a node certificate from the TLS root.
    case node

    public var description: String { rawValue }
}

/// A certificate issued by `PKIDirectory.signRequest`.
public struct SignedRequest: Sendable {
    public let kind: CertificateRequestKind
    /// The participant or node id the request named.
    public let id: String
    public let certificate: Certificate
    /// Where it was written next to the request (`X.csr.pem` gives `X.cert.pem`).
    public let certificatePath: String
}

extension PKIDirectory {
    public func officeRequestPath(_ id: String) -> String { officesDirectory + "/\(id).csr.pem" }
    public func nodeRequestPath(_ id: String) -> String { nodesDirectory + "/\(id).csr.pem" }

    /// On a node: a fresh key of `algorithm` for participant `officeID` (`offices/<id>.key.pem`,
    /// 0600) and a PKCS#10 request for it (`offices/<id>.csr.pem`): CN and the one subjectAltName
    /// URI `urn:xgw:office:<id>` name the participant. Refuses to replace a key unless `force`.
    @discardableResult
    public func request(officeID: String, algorithm: SignatureAlgorithm, force: Bool = false) throws -> CertificateRequest {
        guard CertificateAuthority.isValidOfficeID(officeID) else {
            throw SigningError(.pki, "office id must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")
        }
        return try writeRequest(
            keyPath: officeKeyPath(officeID), requestPath: officeRequestPath(officeID), directory: officesDirectory, force: force,
            key: try PrivateKey.generate(algorithm), commonName: officeID,
            names: SubjectAltNames(uris: [Certificate.officeURIPrefix + officeID]))
    }

    /// On a node: a fresh P-256 key for node `nodeID` (`nodes/<id>.key.pem`, 0600) and a request
    /// (`nodes/<id>.csr.pem`) for `urn:xgw:node:<id>` plus the DNS names and IP addresses of `names`.
    @discardableResult
    public func requestNode(nodeID: String, names: SubjectAltNames, force: Bool = false) throws -> CertificateRequest {
        guard CertificateAuthority.isValidNodeID(nodeID) else {
            throw SigningError(.pki, "node id must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")
        }
        guard names.uris.isEmpty, names.others.isEmpty else {
            throw SigningError(.pki, "a node request's extra subjectAltNames must be DNS names and IP addresses")
        }
        var requested = names
        requested.uris = [Certificate.nodeURIPrefix + nodeID]
        return try writeRequest(
            keyPath: nodeKeyPath(nodeID), requestPath: nodeRequestPath(nodeID), directory: nodesDirectory, force: force,
            key: try PrivateKey.generate(.es256), commonName: nodeID, names: requested)
    }

    private func writeRequest(
        keyPath: String, requestPath: String, directory: String, force: Bool, key: PrivateKey, commonName: String, names: SubjectAltNames
    ) throws -> CertificateRequest {
        if !force && FileManager.default.fileExists(atPath: keyPath) {
            throw SigningError(.pki, "\(keyPath) exists (use --force to make a new key)")
        }
        let request = try CertificateRequest.make(key: key, commonName: commonName, names: names)
        try makeDirectories([path, directory])
        try FileBytes.writeSecret(try key.pem(), to: keyPath)
        try FileBytes.write(try request.pem(), to: requestPath)
        return request
    }

    /// At the alliance's PKI folder: checks the request in `file` and issues its certificate
    /// (`xgw pki sign-request`), written next to it (`X.csr.pem` gives `X.cert.pem`) and under
    /// `issued/`. An office certificate gets the participant's display name as CN
    /// (`participantName`), a node certificate its node id.
    /// - Parameter participantName: the display name of a participant id of seeds/participants.yaml,
    ///   nil for an id that is not a participant.
    /// - Throws: `SigningError.pki` naming what is wrong with the request (`checkRequest`), or why the
    ///   certificate cannot be issued (no such root here).
    @discardableResult
    public func signRequest(
        file: String, days: Int, participantName: (String) -> String?, now: Date = Date()
    ) throws -> SignedRequest {
        let request = try CertificateRequest(file: file)
        let fileName = URL(fileURLWithPath: file).lastPathComponent
        let (kind, id) = try Self.checkRequest(request, fileName: fileName, participantName: participantName)
        let notBefore = now.addingTimeInterval(-Self.backdating)
        let notAfter = now.addingTimeInterval(TimeInterval(days) * 86_400)
        let certificate: Certificate
        switch kind {
        case .office:
            certificate = try authority(.signing).issue(
                officeID: id, commonName: participantName(id) ?? id, subjectKey: request.publicKey, notBefore: notBefore, notAfter: notAfter)
        case .node:
            let requested = request.alternativeNames
            let names = SubjectAltNames(
                dnsNames: requested.dnsNames.compactMap(SubjectAltNames.normalizedDNSName), ipAddresses: requested.ipAddresses)
            certificate = try authority(.tls).issueNode(
                nodeID: id, names: names, subjectKey: request.publicKey, notBefore: notBefore, notAfter: notAfter)
        }
        let certificatePath = String(file.dropLast(Self.requestSuffix.count)) + ".cert.pem"
        try makeDirectories([path, issuedDirectory])
        try FileBytes.write(try certificate.pem(), to: certificatePath)
        try FileBytes.write(try certificate.pem(), to: issuedPath(certificate.serial))
        return SignedRequest(kind: kind, id: id, certificate: certificate, certificatePath: certificatePath)
    }

    static let requestSuffix = ".csr.pem"

    /// The checks of federation.md on a request, in this order: its self-signature verifies (SM2
    /// with the distinguishing ID); its subjectAltName holds exactly one URI, `urn:xgw:office:<id>`
    /// or `urn:xgw:node:<id>`; `<id>` has the id syntax, equals the subject CN and `fileName`'s stem
    /// (`<id>.csr.pem`); an office `<id>` is a participant, asks for no other subjectAltName and has
    /// a key of the three envelope algorithms; a node's key is P-256 and its other subjectAltNames
    /// are host names (copied lower-cased) and IP addresses.
    /// - Returns: what the request asks for, and the id.
    /// - Throws: `SigningError.pki` whose message names the first check that failed.
    public static func checkRequest(
        _ request: CertificateRequest, fileName: String, participantName: (String) -> String?
    ) throws -> (kind: CertificateRequestKind, id: String) {
        func refuse(_ reason: String) -> SigningError { SigningError(.pki, "request \(fileName) refused: \(reason)") }
        guard request.isSelfSignatureValid else {
            throw refuse("its self-signature does not verify (the request was altered, or not signed by its key)")
        }
        let names = request.alternativeNames
        guard names.uris.count == 1, let uri = names.uris.first else {
            throw refuse(
                "its subjectAltName must hold exactly one URI, urn:xgw:office:<id> or urn:xgw:node:<id>; it holds \(names.uris.count)"
                    + (names.uris.isEmpty ? "" : " (\(names.uris.joined(separator: ", ")))"))
        }
        let kind: CertificateRequestKind
        let id: String
        if uri.hasPrefix(Certificate.officeURIPrefix) {
            (kind, id) = (.office, String(uri.dropFirst(Certificate.officeURIPrefix.count)))
        } else if uri.hasPrefix(Certificate.nodeURIPrefix) {
            (kind, id) = (.node, String(uri.dropFirst(Certificate.nodeURIPrefix.count)))
        } else {
            throw refuse("its subjectAltName URI \(uri) is neither urn:xgw:office:<id> nor urn:xgw:node:<id>")
        }
        guard CertificateAuthority.isValidOfficeID(id) else {
            throw refuse("the \(kind) id in \(uri) is not 1-64 characters of a-z, 0-9, '-', '_' or '.'")
        }
        guard request.commonName == id else {
            throw refuse("the \(kind) id \(id) differs from the subject CN \(request.commonName.map { "'\($0)'" } ?? "(none)")")
        }
        guard fileName == id + requestSuffix else {
            throw refuse("the \(kind) id \(id) differs from the file name: a request for \(id) must be named \(id)\(requestSuffix)")
        }
        if !names.others.isEmpty {
            throw refuse("its subjectAltName holds \(names.others.joined(separator: ", ")) entries; only URI, DNS and IP are allowed")
        }
        switch kind {
        case .office:
            guard participantName(id) != nil else {
                throw refuse("\(id) is not a participant of seeds/participants.yaml")
            }
            guard names.dnsNames.isEmpty, names.ipAddresses.isEmpty else {
                throw refuse("an office request must have no subjectAltName but its URI; it also holds \(SubjectAltNames(dnsNames: names.dnsNames, ipAddresses: names.ipAddresses))")
            }
        case .node:
            guard request.algorithm == .es256 else {
                throw refuse("a node key must be ECDSA P-256, not \(request.algorithm)")
            }
            if let bad = names.dnsNames.first(where: { SubjectAltNames.normalizedDNSName($0) == nil }) {
                throw refuse("subjectAltName DNS:\(bad) is not a host name")
            }
            if let bad = names.ipAddresses.first(where: { SubjectAltNames.normalizedIPAddress($0) != $0 }) {
                throw refuse("subjectAltName IP:\(bad) is not an IPv4 or IPv6 address")
            }
        }
        return (kind, id)
    }
}

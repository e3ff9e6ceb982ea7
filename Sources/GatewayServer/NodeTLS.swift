import Foundation
import GatewayFederation
import GatewaySigning
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// This node's side of the node-to-node TLS (federation.md, "Node-to-node API"): its certificate
/// and key, the TLS root with the current TLS CRL, and the two checks every connection passes.
///
/// 1. The handshake (`verifyChain`, swift-nio-ssl's custom verification callback on both the
///    listener and the probe of a peer): the peer's certificate chains to the TLS root, is within
///    its validity, allows TLS server and client use, and is not revoked by the TLS CRL (a CRL past
///    its nextUpdate still applies). Otherwise the handshake fails.
/// 2. The identity (`identify`): exactly one `urn:xgw:node:<id>` URI, `<id>` a node of the
///    directory other than this one, and the certificate's SHA-256 one of that node's pins.
///    Otherwise `unknown-node` (403 for a caller; a client closes the connection).
final class NodeTLS: Sendable {
    let node: NodeConfiguration
    let certificateChain: [NIOSSLCertificate]
    let privateKey: NIOSSLPrivateKey
    /// The TLS root (as swift-nio-ssl needs it for the client certificate request's CA list).
    let root: NIOSSLCertificate
    let rootPath: String
    let crlPath: String
    private let files: FileChangeCheck
    private let trust: Mutex<TrustStore>
    let logger: Logger

    init(node: NodeConfiguration, pkiPath: String, logger: Logger) throws(ServerConfigurationError) {
        self.node = node
        self.logger = logger
        rootPath = node.trustPath(pkiPath: pkiPath)
        crlPath = PKIDirectory(path: pkiPath).tlsCRLPath
        let federation = node.federation
        do {
            certificateChain = try NIOSSLCertificate.fromPEMFile(federation.certificate)
        } catch {
            throw ServerConfigurationError("\(federation.certificate): the node certificate cannot be read")
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: federation.key, format: .pem)
        } catch {
            throw ServerConfigurationError("\(federation.key): the node key cannot be read")
        }
        do {
            root = try NIOSSLCertificate(file: rootPath, format: .pem)
        } catch {
            throw ServerConfigurationError("\(rootPath): the TLS root cannot be read (xgw pki init-tls makes it)")
        }
        let stamps = FileChangeCheck.stamps(of: [rootPath, crlPath])
        files = FileChangeCheck(paths: [rootPath, crlPath], interval: .seconds(2), recorded: stamps)
        let loaded: TrustStore
        do {
            loaded = try Self.loadTrust(rootPath: rootPath, crlPath: crlPath)
        } catch {
            throw ServerConfigurationError("\(rootPath): \(error)")
        }
        trust = Mutex(loaded)
        // This node's own certificate must pass what its peers will check.
        guard let own = try? certificateChain.first?.toDERBytes(), let certificate = try? Certificate(der: own) else {
            throw ServerConfigurationError("\(federation.certificate): no certificate in the file")
        }
        if case .failure(let failure) = loaded.validate(certificate, at: Date()) {
            throw ServerConfigurationError("\(federation.certificate): the node certificate does not pass the TLS root: \(failure)")
        }
        guard certificate.nodeIDs == [node.id] else {
            throw ServerConfigurationError(
                "\(federation.certificate): the certificate names node \(certificate.nodeIDs.joined(separator: ", ")), not \(node.id)")
        }
        ownPin = certificate.keyId
    }

    /// The SHA-256 of this node's certificate (what the directory must pin for it).
    let ownPin: String

    private static func loadTrust(rootPath: String, crlPath: String) throws -> TrustStore {
        try TrustStore(rootsFile: rootPath, crlFile: FileManager.default.fileExists(atPath: crlPath) ? crlPath : nil)
    }

    /// The TLS root and CRL now (read again when either file changed).
    var currentTrust: TrustStore {
        if let stamps = files.changed() {
            do {
                let loaded = try Self.loadTrust(rootPath: rootPath, crlPath: crlPath)
                trust.withLock { $0 = loaded }
                files.record(stamps)
                logger.notice("read the TLS root and CRL again", metadata: ["crl": .string(crlPath)])
            } catch {
                logger.error("the TLS root or CRL cannot be read; the previous ones stay", metadata: ["error": "\(error)"])
            }
        }
        return trust.withLock { $0 }
    }

    /// Reads the TLS root and CRL now, changed or not (SIGHUP); false when one cannot be read (the
    /// previous ones stay: a half-written CRL never lifts a revocation).
    @discardableResult
    func reloadTrust() -> Bool {
        let stamps = FileChangeCheck.stamps(of: files.paths)
        guard let loaded = try? Self.loadTrust(rootPath: rootPath, crlPath: crlPath) else { return false }
        trust.withLock { $0 = loaded }
        files.record(stamps)
        return true
    }

    /// Replaces the TLS CRL with one adopted from a peer (already checked by the caller).
    func adopt(crl: CertificateRevocationList) throws {
        try FileBytes.write(try crl.pem(), to: crlPath)
        trust.withLock { $0 = (try? Self.loadTrust(rootPath: rootPath, crlPath: crlPath)) ?? $0 }
        files.record(FileChangeCheck.stamps(of: [rootPath, crlPath]))
    }

    /// Check 1: the chain, validity, key usage and revocation of a peer's leaf certificate.
    func verifyChain(_ chain: [NIOSSLCertificate], at time: Date = Date()) -> Result<Certificate, VerificationFailure> {
        guard let leaf = chain.first, let der = try? leaf.toDERBytes(), let certificate = try? Certificate(der: der) else {
            return .failure(VerificationFailure(.untrustedCertificate, "no readable peer certificate"))
        }
        let checked = currentTrust.validate(certificate, at: time)
        guard case .success = checked else { return checked }
        guard certificate.allowsTLSServerAndClient else {
            return .failure(VerificationFailure(.untrustedCertificate, "certificate \(certificate.serial) is not for TLS clients and servers"))
        }
        return checked
    }

    /// The swift-nio-ssl callback for both sides: fails the handshake when `verifyChain` fails.
    var verificationCallback: @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void {
        { [self] chain, promise in
            switch verifyChain(chain) {
            case .success: promise.succeed(.certificateVerified)
            case .failure(let failure):
                logger.warning(
                    "refused a TLS handshake", metadata: ["reason": .string(failure.code.rawValue), "detail": .string(failure.message)])
                promise.succeed(.failed)
            }
        }
    }

    /// Why a certificate that passed the handshake does not identify a peer node.
    struct UnknownNode: Error, CustomStringConvertible {
        var description: String
    }

    /// Check 2: which peer of `directory` the certificate (DER) is, by its URI and pin.
    func identify(_ der: [UInt8], in directory: Directory) -> Result<DirectoryNode, UnknownNode> {
        identify(der, serial: directory.serial, expected: nil) { directory.node(id: $0) }
    }

    /// Check 2 for a client: the certificate is the one the directory pins for `peer`, the node dialled.
    func identify(_ der: [UInt8], as peer: DirectoryNode, serial: Int) -> Result<DirectoryNode, UnknownNode> {
        identify(der, serial: serial, expected: peer.id) { $0 == peer.id ? peer : nil }
    }

    private func identify(
        _ der: [UInt8], serial: Int, expected: String?, node lookup: (String) -> DirectoryNode?
    ) -> Result<DirectoryNode, UnknownNode> {
        guard let certificate = try? Certificate(der: der) else { return .failure(UnknownNode(description: "unreadable certificate")) }
        let uris = certificate.uris.filter { $0.hasPrefix(Certificate.nodeURIPrefix) }
        guard uris.count == 1, certificate.nodeIDs.count == 1, let id = certificate.nodeIDs.first else {
            return .failure(UnknownNode(description: "the certificate must name exactly one node (urn:xgw:node:<id>)"))
        }
        guard id != node.id else { return .failure(UnknownNode(description: "the certificate names this node itself")) }
        if let expected, id != expected {
            return .failure(UnknownNode(description: "the certificate names node \(id), not \(expected)"))
        }
        guard let peer = lookup(id) else {
            return .failure(UnknownNode(description: "node \(id) is not in directory serial \(serial)"))
        }
        // keyId is the SHA-256 of the DER: the directory's pin.
        guard peer.isPinned(certificate.keyId) else {
            return .failure(UnknownNode(description: "the certificate of node \(id) is not the one directory serial \(serial) pins"))
        }
        return .success(peer)
    }

    /// The listener's TLS: TLS 1.3 only, a client certificate required (chain checked by `verifyChain`).
    func serverConfiguration() -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = .tlsv13
        tls.maximumTLSVersion = .tlsv13
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates([root])
        return tls
    }

    /// The forwarders' TLS (async-http-client): TLS 1.3, this node's certificate, the peer's chain
    /// checked against the TLS root (host names are not checked: the pin identifies the node).
    func clientConfiguration() -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv13
        tls.maximumTLSVersion = .tlsv13
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates([root])
        tls.certificateChain = certificateChain.map { .certificate($0) }
        tls.privateKey = .privateKey(privateKey)
        return tls
    }
}

import ArgumentParser
import Foundation
import GatewayFederation
import GatewayMapping
import GatewaySigning

/// `xgw directory sign SOURCE.yaml --pki DIR > directory.json`: the alliance signs its directory of
/// nodes with the signing root key (federation.md, "The directory").
struct DirectorySign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign the directory of nodes with the alliance signing root; writes the JSON to standard output.",
        discussion: """
            SOURCE.yaml has serial, validDays (nextUpdate = issuedAt + validDays) and nodes, each with id, url, \
            certificate (the node's TLS certificate with urn:xgw:node:<id>, relative to the PKI folder or absolute; checked against the folder's TLS root), optionally \
            nextCertificate (the certificate it will change to), and hosts. Each pin is the lower-case hex SHA-256 of \
            the certificate's DER. The content rules are checked before signing. Exit 0, 65 when the source breaks a \
            rule, 66 when a file cannot be opened.
            """)

    @Argument(help: ArgumentHelp("The directory source (YAML).", valueName: "SOURCE.yaml"))
    var source: String
    @Option(help: ArgumentHelp("The alliance PKI folder (its signing root key signs).", valueName: "DIR"))
    var pki = "data/pki"
    @Option(name: .customLong("issued-at"), help: ArgumentHelp("issuedAt (RFC 3339) instead of now.", valueName: "TIME"))
    var issuedAt: String?

    func run() async throws {
        guard FileManager.default.fileExists(atPath: source) else {
            Console.error("xgw: cannot open \(source)")
            throw Exit.noInput
        }
        let loaded: DirectorySource
        do {
            loaded = try DirectorySource.load(path: source)
        } catch {
            Console.error("xgw: \(error)")
            throw Exit.dataError
        }
        let now: Date
        if let issuedAt {
            guard let date = Timestamp.date(issuedAt) else { throw ValidationError("--issued-at needs an RFC 3339 time like 2026-12-02T08:00:00Z") }
            now = date
        } else {
            now = Date()
        }
        try SigningFailure.exit {
            let folder = PKIDirectory(path: pki)
            let authority = try folder.authority()
            let tlsRoot = FileManager.default.fileExists(atPath: folder.tlsCACertificatePath) ? try folder.tlsTrustStore() : nil
            if tlsRoot == nil {
                Console.error("xgw: warning: no TLS root in \(pki) (xgw pki init-tls): node certificates are not checked against it")
            }
            // Node certificates are judged now, whatever issuedAt says.
            let nodes = try loaded.nodes.map { try node($0, tlsRoot: tlsRoot, at: Date()) }
            let directory: Directory
            do throws(DirectoryError) {
                directory = try Directory(
                    serial: loaded.serial, issuedAt: now, nextUpdate: now.addingTimeInterval(TimeInterval(loaded.validDays) * 86_400),
                    nodes: nodes)
            } catch {
                for problem in error.problems { Console.error("xgw: \(source)\(line(of: problem, in: loaded)): \(problem)") }
                throw Exit.dataError
            }
            let signed = try SignedDirectory.sign(directory, by: authority)
            Console.out.line(signed.canonicalBytes())
            Console.out.flush()
        }
    }

    /// A node of the source with its pins computed from its certificate files.
    private func node(_ entry: DirectorySource.Node, tlsRoot: TrustStore?, at time: Date) throws -> DirectoryNode {
        DirectoryNode(
            id: entry.id, url: entry.url, tlsCertificateSha256: try pin(entry.certificate, node: entry.id, tlsRoot: tlsRoot, at: time),
            nextTlsCertificateSha256: try entry.nextCertificate.map { try pin($0, node: entry.id, tlsRoot: tlsRoot, at: time) },
            hosts: entry.hosts)
    }

    /// The pin of a node certificate file. Refuses a certificate that does not name exactly this node
    /// (`urn:xgw:node:<id>`, the identity peers check) or, when the folder has a TLS root, that it does
    /// not accept at `time` (another root, expired, revoked by the TLS CRL): peers would refuse its handshakes.
    private func pin(_ file: String, node id: String, tlsRoot: TrustStore?, at time: Date) throws -> String {
        let path = file.hasPrefix("/") ? file : pki + "/" + file
        let certificate = try Certificate(file: path)
        guard certificate.nodeIDs == [id] else {
            let named = certificate.nodeIDs.isEmpty ? "names no node" : "names \(certificate.nodeIDs.joined(separator: ", "))"
            throw SigningError(
                .invalidCertificate, "\(path) \(named): node \(id) needs a certificate with \(Certificate.nodeURIPrefix)\(id) (xgw pki issue-node)")
        }
        if let tlsRoot, case .failure(let failure) = tlsRoot.validate(certificate, at: time) {
            throw SigningError(.invalidCertificate, "\(path) is refused by the TLS root: \(failure.message) (\(failure.code))")
        }
        return DirectoryNode.pin(of: certificate)
    }

    /// ` (line N)` for a problem of node i, whose entry starts on line N of the source.
    private func line(of problem: DirectoryProblem, in source: DirectorySource) -> String {
        guard let tokens = problem.pointer?.tokens, tokens.count >= 3, tokens[1] == "nodes", let index = Int(tokens[2]),
            source.nodes.indices.contains(index), let line = source.nodes[index].line
        else { return "" }
        return ":\(line)"
    }
}

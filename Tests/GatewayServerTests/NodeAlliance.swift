import Foundation
import GatewayFederation
import GatewaySigning
import TestSupport

/// A real alliance in a temporary folder: the alliance's PKI (both roots, made with `PKIDirectory`,
/// ES256 for speed), a key for every seeded participant, node certificates for renshi-node and
/// xinsheng-node; and, per node, the `pki` folder a node holds: the public roots and CRLs, its own
/// node key and the keys of the participants given to it, nothing else.
struct NodeAlliance {
    let folder: URL
    let alliance: PKIDirectory
    let root: CertificateAuthority

    static let hosts = [
        "renshi-node": ["renshi", "kaijiang", "kaijiang-renshi", "dachuan"],
        "xinsheng-node": ["xinsheng", "liangping", "liangping-xinsheng"],
    ]

    init() throws {
        folder = try ServerProcess.temporaryDirectory()
        alliance = PKIDirectory(path: folder.appendingPathComponent("alliance").path)
        root = try PKIDirectory.initialize(
            at: alliance.path, algorithm: .es256, commonName: "test alliance root", days: 365, tlsCommonName: "test TLS root")
        for node in Self.hosts.keys.sorted() {
            try alliance.issueNode(nodeID: node, names: SubjectAltNames(dnsNames: ["\(node).example"]), days: 30)
        }
        for id in Self.hosts.values.flatMap({ $0 }) {
            try alliance.issue(officeID: id, commonName: id, algorithm: .es256, days: 30)
        }
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// The `pki` folder of `node` holding the keys of `participants` (its hosted ones unless told).
    @discardableResult
    func nodePKI(_ node: String, participants: [String]? = nil) throws -> PKIDirectory {
        try alliance.makeNodeFolder(
            node, participants: participants ?? Self.hosts[node]!, at: folder.appendingPathComponent(node).appendingPathComponent("pki").path)
    }

    /// A directory of both nodes (or of `hosts`), signed by the alliance root (or `signer`).
    func directory(
        serial: Int, hosts: [String: [String]] = NodeAlliance.hosts, days: Double = 7, signer: CertificateAuthority? = nil,
        issuedAt: Date = Date().addingTimeInterval(-60), urls: [String: String] = [:]
    ) throws -> [UInt8] {
        let nodes = try hosts.keys.sorted().map { id in
            DirectoryNode(
                id: id, url: urls[id] ?? "https://\(id).example:8443",
                tlsCertificateSha256: DirectoryNode.pin(of: try Certificate(file: alliance.nodeCertificatePath(id))), hosts: hosts[id]!)
        }
        let directory = try Directory(serial: serial, issuedAt: issuedAt, nextUpdate: issuedAt.addingTimeInterval(days * 86_400), nodes: nodes)
        return try SignedDirectory.sign(directory, by: signer ?? root).canonicalBytes()
    }

    /// Writes a directory file next to the node's pki folder and returns its path.
    @discardableResult
    func writeDirectory(_ bytes: [UInt8], node: String = "renshi-node", name: String = "directory.json") throws -> String {
        let path = folder.appendingPathComponent(node).appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The `xgw serve --config` file of `node`, with its `node` section.
    /// `federationPort` 0 (the default): any free port, so that tests of one node never collide.
    func configuration(
        node: String = "renshi-node", directory: String, hosts: [String]? = nil, federationPort: Int = 0, pollSeconds: Double? = nil
    ) -> String {
        let pki = PKIDirectory(path: folder.appendingPathComponent(node).appendingPathComponent("pki").path)
        var lines = ["pki: \(pki.path)", "node:", "  id: \(node)", "  directory: \(directory)"]
        if let hosts { lines.append("  hosts: [\(hosts.joined(separator: ", "))]") }
        if let pollSeconds { lines.append("  directoryPollSeconds: \(pollSeconds)") }
        lines += [
            "  federation:", "    listen: 127.0.0.1", "    port: \(federationPort)", "    certificate: \(pki.nodeCertificatePath(node))",
            "    key: \(pki.nodeKeyPath(node))", "    trust: \(pki.tlsCACertificatePath)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

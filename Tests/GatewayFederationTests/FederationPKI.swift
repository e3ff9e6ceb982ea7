import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning

/// A real alliance PKI in a temporary folder (OpenSSL keys through `PKIDirectory`): the signing root,
/// the TLS root, and node certificates (`urn:xgw:node:<id>`) for renshi-node and xinsheng-node, plus
/// the certificate renshi-node will change to (`nodes/renshi-node.next.cert.pem`).
struct FederationPKI {
    let folder: URL
    let pki: PKIDirectory
    let root: CertificateAuthority

    static let hosts = [
        "renshi-node": ["renshi", "kaijiang", "kaijiang-renshi", "dachuan"],
        "xinsheng-node": ["xinsheng", "liangping", "liangping-xinsheng"],
    ]

    init(algorithm: SignatureAlgorithm = .es256, rootName: String = "川渝 alliance root") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-federation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        pki = PKIDirectory(path: folder.appendingPathComponent("pki").path)
        root = try PKIDirectory.initialize(
            at: pki.path, algorithm: algorithm, commonName: rootName, days: 365, tlsCommonName: "川渝 alliance TLS root")
        for id in ["renshi-node", "xinsheng-node"] {
            try pki.issueNode(nodeID: id, names: SubjectAltNames(dnsNames: ["\(id).example"]), days: 30)
        }
        let next = try pki.authority(.tls).issueNode(
            nodeID: "renshi-node", names: SubjectAltNames(), subjectKey: try PrivateKey.generate(.es256).publicKey,
            notBefore: Date().addingTimeInterval(-300), notAfter: Date().addingTimeInterval(60 * 86_400))
        try FileBytes.write(try next.pem(), to: nodeCertificatePath("renshi-node-next"))
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// `nodes/<id>.cert.pem`; `renshi-node-next` is `nodes/renshi-node.next.cert.pem`.
    func nodeCertificatePath(_ id: String) -> String {
        id == "renshi-node-next" ? pki.nodesDirectory + "/renshi-node.next.cert.pem" : pki.nodeCertificatePath(id)
    }

    func pin(_ id: String) throws -> String { DirectoryNode.pin(of: try Certificate(file: nodeCertificatePath(id))) }

    /// The two-node directory of federation.md's example, with this PKI's pins.
    func nodes(nextPin: Bool = false) throws -> [DirectoryNode] {
        [
            DirectoryNode(
                id: "renshi-node", url: "https://renshi-gw.example:8443", tlsCertificateSha256: try pin("renshi-node"),
                nextTlsCertificateSha256: nextPin ? try pin("renshi-node-next") : nil, hosts: Self.hosts["renshi-node"]!),
            DirectoryNode(
                id: "xinsheng-node", url: "https://xinsheng-gw.example:8443", tlsCertificateSha256: try pin("xinsheng-node"),
                hosts: Self.hosts["xinsheng-node"]!),
        ]
    }

    func directory(serial: Int = 7, issuedAt: Date = Date(), days: Int = 7, nextPin: Bool = false) throws -> Directory {
        try Directory(serial: serial, issuedAt: issuedAt, nextUpdate: issuedAt.addingTimeInterval(TimeInterval(days) * 86_400), nodes: nodes(nextPin: nextPin))
    }

    func signed(serial: Int = 7, issuedAt: Date = Date(), days: Int = 7, nextPin: Bool = false) throws -> SignedDirectory {
        try SignedDirectory.sign(directory(serial: serial, issuedAt: issuedAt, days: days, nextPin: nextPin), by: root)
    }

    /// The keys renshi-node holds when set up right: one file per hosted participant.
    static func keys(of node: String) -> [String: String] {
        Dictionary(uniqueKeysWithValues: hosts[node]!.map { ($0, "pki/offices/\($0).key.pem") })
    }
}

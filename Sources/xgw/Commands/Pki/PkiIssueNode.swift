import ArgumentParser
import GatewaySigning

/// `xgw pki issue-node`: a P-256 key and a node certificate from the TLS root, in one place.
struct PkiIssueNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue-node",
        abstract: "Issue a P-256 key and node certificate (urn:xgw:node:<id>, DNS/IP, serverAuth+clientAuth) from the TLS root.",
        discussion: """
            Key and certificate are made here (nodes/<id>.key.pem, 0600, and nodes/<id>.cert.pem): for a one-node setup \
            and tests. Across organisations the node makes its own key: xgw pki request-node there, xgw pki sign-request here.
            """)

    @OptionGroup var pki: PkiOptions
    @Argument(help: ArgumentHelp("The node id (a-z, 0-9, '-', '_', '.').", valueName: "NODE"))
    var node: String
    @Option(help: ArgumentHelp("Where the node is reached: DNS:name,IP:addr,...", valueName: "SANS")) var san: String
    @Option(help: "Certificate lifetime in days.") var days = 365
    @Flag(help: "Replace the node's existing key and certificate (the old certificate stays revocable).") var force = false

    func run() async throws {
        try SigningFailure.exit {
            let certificate = try pki.directory.issueNode(nodeID: node, names: try SubjectAltNames(parsing: san), days: days, force: force)
            Console.out.line("issued \(certificate.serial) node \(node) valid until \(Timestamp.string(certificate.notAfter))")
            Console.out.line("subjectAltName: \(certificate.alternativeNames)")
            Console.out.line("pin (tlsCertificateSha256): \(certificate.keyId)")
            Console.out.line("key: \(pki.directory.nodeKeyPath(node))")
            Console.out.line("certificate: \(pki.directory.nodeCertificatePath(node))")
            Console.out.flush()
        }
    }
}

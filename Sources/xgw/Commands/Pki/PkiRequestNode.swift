import ArgumentParser
import GatewaySigning

/// `xgw pki request-node`: on a node, its P-256 TLS key and a PKCS#10 request for its node certificate.
struct PkiRequestNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request-node",
        abstract: "Make a node's P-256 key (nodes/<id>.key.pem, 0600) and certificate request (nodes/<id>.csr.pem).",
        discussion: "The request names urn:xgw:node:<id> and the --san entries; xgw pki sign-request at the alliance's PKI folder issues it.")

    @OptionGroup var pki: PkiOptions
    @Argument(help: ArgumentHelp("The node id (a-z, 0-9, '-', '_', '.').", valueName: "NODE"))
    var node: String
    @Option(help: ArgumentHelp("Where the node is reached: DNS:name,IP:addr,...", valueName: "SANS")) var san: String
    @Flag(help: "Replace the node's existing key.") var force = false

    func run() async throws {
        try SigningFailure.exit {
            let request = try pki.directory.requestNode(nodeID: node, names: try SubjectAltNames(parsing: san), force: force)
            PkiRequest.printRequest(request, key: pki.directory.nodeKeyPath(node), path: pki.directory.nodeRequestPath(node))
        }
    }
}

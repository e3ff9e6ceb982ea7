import ArgumentParser
import GatewaySigning

/// `xgw pki init-tls`: the P-256 TLS root added to an existing PKI folder.
struct PkiInitTLS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-tls",
        abstract: "Add the TLS root (ECDSA P-256: tls-ca.key.pem, tls-ca.cert.pem, tls-crl.pem) to a PKI folder.",
        discussion: "Node certificates (xgw pki issue-node, sign-request of a node request) chain to it. The signing root is left as it is.")

    @OptionGroup var pki: PkiOptions
    @Option(help: "TLS root certificate lifetime in days.") var days = 3650
    @Option(help: "TLS root certificate common name.") var name = PkiInit.defaultTLSName
    @Flag(help: "Replace an existing TLS root (every node certificate must then be issued again).") var force = false

    func run() async throws {
        try SigningFailure.exit {
            let ca = try pki.directory.initializeTLS(commonName: name, days: days, force: force)
            PkiInit.printRoot(.tls, ca, pki.directory)
            Console.out.flush()
        }
    }
}

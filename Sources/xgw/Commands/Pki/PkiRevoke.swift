import ArgumentParser
import GatewaySigning

/// `xgw pki revoke`: a certificate revoked by serial, its root's CRL written again.
struct PkiRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a certificate by serial and regenerate its root's CRL (crl.pem, or tls-crl.pem for a node certificate).")

    @OptionGroup var pki: PkiOptions
    @Argument(help: ArgumentHelp("Serial number in hex (as xgw pki list shows it).", valueName: "SERIAL"))
    var serial: String

    func run() async throws {
        try SigningFailure.exit {
            let (root, crl) = try pki.directory.revokeCertificate(serial: serial)
            Console.out.line("revoked \(serial.lowercased()); \(root.crlFile) number \(crl.number ?? 0) lists \(crl.revokedSerials.count)")
            Console.out.flush()
        }
    }
}

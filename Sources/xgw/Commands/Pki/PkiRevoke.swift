import ArgumentParser

/// `xgw pki revoke`: a certificate revoked by serial, crl.pem written again.
struct PkiRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a certificate by serial and regenerate crl.pem.")

    @OptionGroup var pki: PkiOptions
    @Argument(help: ArgumentHelp("Serial number in hex (as xgw pki list shows it).", valueName: "SERIAL"))
    var serial: String

    func run() async throws {
        try SigningFailure.exit {
            let crl = try pki.directory.revoke(serial: serial)
            Console.out.line("revoked \(serial.lowercased()); crl.pem number \(crl.number ?? 0) lists \(crl.revokedSerials.count)")
            Console.out.flush()
        }
    }
}

import ArgumentParser
import Foundation
import GatewaySigning

/// `xgw pki crl`: the CRL and whether it is current; `--refresh` re-signs it.
struct PkiCRL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crl",
        abstract: "Show crl.pem (number, thisUpdate, nextUpdate, revocations); --refresh re-signs it.",
        discussion: """
            A CRL is announced valid until its nextUpdate (30 days after it was written). Past that it still applies, \
            but verifiers warn that a newer revocation may be missing: re-sign it with --refresh (same revocations, \
            next number) and distribute crl.pem again. Exit 1 when the CRL is stale and --refresh was not given.
            """)

    @OptionGroup var pki: PkiOptions
    @Flag(help: "Re-sign crl.pem with the same revocations and a new nextUpdate.") var refresh = false

    func run() async throws {
        var stale = false
        try SigningFailure.exit {
            let crl = refresh ? try pki.directory.refreshCRL() : try pki.directory.revocationList()
            let now = Date()
            stale = crl.isStale(at: now)
            Console.out.line(
                "crl number \(crl.number ?? 0)  thisUpdate \(crl.thisUpdate.map(Timestamp.string) ?? "-")  nextUpdate "
                    + "\(crl.nextUpdate.map(Timestamp.string) ?? "-")  \(stale ? "stale" : "current")  revoked \(crl.revokedSerials.count)")
            for serial in crl.revokedSerials.sorted() {
                Console.out.line("revoked \(serial) \(crl.revocationDates[serial].map(Timestamp.string) ?? "-")")
            }
            Console.out.flush()
        }
        if stale { throw Exit.checkFailed }
    }
}

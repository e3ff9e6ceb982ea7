import ArgumentParser
import Foundation
import GatewaySigning

/// `xgw pki crl`: the CRLs of both roots and whether they are current; `--refresh` re-signs them.
struct PkiCRL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crl",
        abstract: "Show crl.pem and tls-crl.pem (number, thisUpdate, nextUpdate, revocations); --refresh re-signs them.",
        discussion: """
            A CRL is announced valid until its nextUpdate (30 days after it was written). Past that it still applies, \
            but verifiers warn that a newer revocation may be missing: re-sign it with --refresh (same revocations, \
            next number) and distribute it again. crl.pem (signing root) comes first, as "crl ..."; tls-crl.pem (TLS \
            root, node certificates), when the folder has a TLS root, follows as "tls-crl ...", each with its "revoked" \
            lines. Exit 1 when a CRL is stale and --refresh was not given.
            """)

    @OptionGroup var pki: PkiOptions
    @Flag(help: "Re-sign the CRLs with the same revocations and a new nextUpdate.") var refresh = false

    func run() async throws {
        var stale = false
        try SigningFailure.exit {
            let directory = pki.directory
            let now = Date()
            for root in PKIRoot.allCases where root == .signing || FileManager.default.fileExists(atPath: directory.tlsCAKeyPath)
                || FileManager.default.fileExists(atPath: directory.tlsCRLPath)
            {
                let crl = refresh ? try directory.refreshCRL(root) : try directory.revocationList(root)
                let rootStale = crl.isStale(at: now)
                stale = stale || rootStale
                Console.out.line(
                    "\(root == .signing ? "crl" : "tls-crl") number \(crl.number ?? 0)  thisUpdate \(crl.thisUpdate.map(Timestamp.string) ?? "-")  nextUpdate "
                        + "\(crl.nextUpdate.map(Timestamp.string) ?? "-")  \(rootStale ? "stale" : "current")  revoked \(crl.revokedSerials.count)")
                for serial in crl.revokedSerials.sorted() {
                    Console.out.line("revoked \(serial) \(crl.revocationDates[serial].map(Timestamp.string) ?? "-")")
                }
            }
            Console.out.flush()
        }
        if stale { throw Exit.checkFailed }
    }
}

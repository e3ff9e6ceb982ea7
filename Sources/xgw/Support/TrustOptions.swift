import ArgumentParser
import Foundation
import GatewaySigning

/// `--trust`, `--crl` and `--at`, shared by verify and receipt.
struct TrustOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Trust anchors (PEM, one or more certificates); default data/pki/ca.cert.pem.", valueName: "FILE"))
    var trust: String?
    @Option(help: ArgumentHelp("CRL (PEM) signed by a trust anchor; default data/pki/crl.pem when --trust is not given.", valueName: "FILE"))
    var crl: String?
    @Option(help: ArgumentHelp("Check certificate validity at this instant (RFC 3339) instead of now.", valueName: "TIME"))
    var at: String?

    static let defaultTrust = "data/pki/ca.cert.pem"
    static let defaultCRL = "data/pki/crl.pem"

    var isGiven: Bool { trust != nil }

    func store() throws -> TrustStore {
        let rootsFile = trust ?? Self.defaultTrust
        var crlFile = crl
        if trust == nil && crl == nil && FileManager.default.fileExists(atPath: Self.defaultCRL) { crlFile = Self.defaultCRL }
        if trust == nil && !FileManager.default.fileExists(atPath: rootsFile) {
            throw ValidationError("no trust anchor: give --trust FILE (or run xgw pki init)")
        }
        var store: TrustStore?
        try SigningFailure.exit { store = try TrustStore(rootsFile: rootsFile, crlFile: crlFile) }
        guard let store else { throw Exit.software }
        return store
    }

    /// A CRL past its nextUpdate still applies; say so on standard error (stdout stays cli.md's lines).
    func warnAboutStaleCRLs(_ trust: TrustStore, at time: Date) {
        for crl in trust.staleRevocationLists(at: time) {
            Console.error(
                "xgw: warning: the CRL (number \(crl.number ?? 0)) is past its nextUpdate "
                    + "\(crl.nextUpdate.map(Timestamp.string) ?? "-"): a newer revocation may be missing (xgw pki crl --refresh)")
        }
    }

    func time() throws -> Date {
        guard let at else { return Date() }
        guard let date = Timestamp.date(at) else { throw ValidationError("--at needs an RFC 3339 time like 2023-07-11T08:31:02+08:00") }
        return date
    }
}

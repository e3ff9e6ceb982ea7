import ArgumentParser
import GatewaySigning

/// `xgw pki sign-request`: at the alliance's PKI folder, a request checked and its certificate issued.
struct PkiSignRequest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-request",
        abstract: "Check a certificate request (FILE.csr.pem) and issue its certificate (FILE.cert.pem, and under issued/).",
        discussion: """
            The request's self-signature must verify (SM2 with the distinguishing ID 1234567812345678); its subjectAltName \
            holds exactly one URI: urn:xgw:office:<participant> (a signing certificate from the signing root, any of \
            SM2-SM3/ES256/Ed25519, no other subjectAltName) or urn:xgw:node:<node> (a node certificate from the TLS root, \
            P-256 only, its DNS and IP entries copied: you vouch for them). The id must equal the subject CN and the file \
            name's stem. A refused request exits 65 with the reason.
            """)

    @OptionGroup var pki: PkiOptions
    @Argument(help: ArgumentHelp("The request (<id>.csr.pem).", valueName: "FILE")) var file: String
    @Option(help: "Certificate lifetime in days.") var days = 365
    @OptionGroup var seeds: PkiSeeds

    func run() async throws {
        let participants = try seeds.load()
        try SigningFailure.exit {
            let signed = try pki.directory.signRequest(file: file, days: days, participantName: { participants.participant($0)?.name })
            let certificate = signed.certificate
            Console.out.line(
                "issued \(certificate.serial) \(signed.kind) \(signed.id) \(certificate.algorithm) valid until \(Timestamp.string(certificate.notAfter))")
            Console.out.line("subjectAltName: \(certificate.alternativeNames)")
            if signed.kind == .node { Console.out.line("pin (tlsCertificateSha256): \(certificate.keyId)") }
            Console.out.line("certificate: \(signed.certificatePath)")
            Console.out.flush()
        }
    }
}

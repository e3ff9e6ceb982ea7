import ArgumentParser
import GatewaySigning

/// `xgw pki init`: the alliance root CA and an empty CRL.
struct PkiInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the alliance root CA (key, self-signed certificate) and an empty CRL.")

    @OptionGroup var pki: PkiOptions
    @Option(help: "Root key algorithm.") var alg: SignatureAlgorithm = .sm2sm3
    @Option(help: "Root certificate lifetime in days.") var days = 3650
    @Option(help: "Root certificate common name.") var name = "川渝跨区域联合执法联盟根证书"
    @Flag(help: "Replace an existing root (every office certificate must then be issued again).") var force = false

    func run() async throws {
        try SigningFailure.exit {
            let ca = try PKIDirectory.initialize(at: pki.dir, algorithm: alg, commonName: name, days: days, force: force)
            Console.out.line("root \(ca.certificate.serial) \(alg) valid until \(Timestamp.string(ca.certificate.notAfter))")
            Console.out.line("trust anchor: \(pki.directory.caCertificatePath)")
            Console.out.flush()
        }
    }
}

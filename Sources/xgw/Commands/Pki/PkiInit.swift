import ArgumentParser
import GatewaySigning

/// `xgw pki init`: the alliance's two roots (signing and TLS) and their empty CRLs.
struct PkiInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the alliance roots (signing root of --alg, P-256 TLS root: keys, self-signed certificates) and empty CRLs.")

    static let defaultTLSName = "川渝跨区域联合执法联盟 TLS 根证书"

    @OptionGroup var pki: PkiOptions
    @Option(help: "Signing root key algorithm (the TLS root is always ECDSA P-256).") var alg: SignatureAlgorithm = .sm2sm3
    @Option(help: "Root certificate lifetime in days.") var days = 3650
    @Option(help: "Signing root certificate common name.") var name = "川渝跨区域联合执法联盟根证书"
    @Option(help: "TLS root certificate common name.") var tlsName = Self.defaultTLSName
    @Flag(help: "Replace existing roots (every certificate must then be issued again).") var force = false

    func run() async throws {
        try SigningFailure.exit {
            let directory = pki.directory
            let ca = try PKIDirectory.initialize(
                at: pki.dir, algorithm: alg, commonName: name, days: days, force: force, tlsCommonName: tlsName)
            Self.printRoot(.signing, ca, directory)
            Self.printRoot(.tls, try directory.authority(.tls), directory)
            Console.out.flush()
        }
    }

    /// `root <serial> <alg> valid until <time>` and where its trust anchor is.
    static func printRoot(_ root: PKIRoot, _ ca: CertificateAuthority, _ directory: PKIDirectory) {
        let label = root == .signing ? "root" : "tls root"
        Console.out.line("\(label) \(ca.certificate.serial) \(ca.certificate.algorithm) valid until \(Timestamp.string(ca.certificate.notAfter))")
        Console.out.line("\(root == .signing ? "trust anchor" : "tls trust anchor"): \(directory.certificatePath(root))")
    }
}

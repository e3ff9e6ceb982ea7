import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel
import GatewaySigning

/// `xgw pki …`: the alliance certificate authority on disk (layout: `PKIDirectory`).
struct PkiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Manage the alliance PKI: root CA, office certificates, revocation.",
        discussion: """
            Layout of the PKI folder: ca.key.pem (root key, 0600), ca.cert.pem (the trust anchor), crl.pem, \
            issued/<serial>.cert.pem (every certificate issued), offices/<id>.key.pem (0600) and \
            offices/<id>.cert.pem. Private keys are never printed.
            """,
        subcommands: [PkiInit.self, PkiIssue.self, PkiRevoke.self, PkiList.self, PkiCRL.self])
}

struct PkiOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The PKI folder.", valueName: "DIR"))
    var dir = "data/pki"

    var directory: PKIDirectory { PKIDirectory(path: dir) }
}

/// Parses `--alg` values (`SM2-SM3`, `ES256`, `Ed25519`).
extension SignatureAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

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

struct PkiIssue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a key and certificate for an office (urn:xgw:office:<id> in subjectAltName).")

    @OptionGroup var pki: PkiOptions
    @Argument(help: ArgumentHelp("The office id (seeds/participants.yaml).", valueName: "PARTICIPANT"))
    var participant: String
    @Option(help: "Office key algorithm.") var alg: SignatureAlgorithm = .sm2sm3
    @Option(help: "Certificate lifetime in days.") var days = 365
    @Option(help: "Subject CN; default: the participant's name in seeds/participants.yaml.") var name: String?
    @Option(help: ArgumentHelp("Folder of seed data.", valueName: "DIR")) var seeds: String?
    @Flag(help: "Replace the office's existing key and certificate (the old certificate stays revocable).") var force = false

    func run() async throws {
        let commonName = try name ?? participantName()
        try SigningFailure.exit {
            let certificate = try pki.directory.issue(
                officeID: participant, commonName: commonName, algorithm: alg, days: days, force: force)
            Console.out.line("issued \(certificate.serial) \(participant) \(alg) valid until \(Timestamp.string(certificate.notAfter))")
            Console.out.line("key: \(pki.directory.officeKeyPath(participant))")
            Console.out.line("certificate: \(pki.directory.officeCertificatePath(participant))")
            Console.out.flush()
        }
    }

    private func participantName() throws -> String {
        let folder = seeds ?? Installation.folder("seeds")
        let loaded: Seeds
        do {
            loaded = try Seeds.load(directory: folder)
        } catch {
            throw ValidationError("cannot read the participants of \(folder) (\(error)); give --name")
        }
        guard let entry = loaded.participant(participant) else {
            throw ValidationError("\(participant) is not in \(folder)/participants.yaml; give --name")
        }
        return entry.name
    }
}

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

struct PkiList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List every certificate issued: serial, subject, SAN, validity, revocation.")

    @OptionGroup var pki: PkiOptions
    @Flag(help: "One JSON object per certificate instead of a table.") var json = false

    func run() async throws {
        try SigningFailure.exit {
            let certificates = try pki.directory.issued()
            let crl = try? pki.directory.revocationList()
            let now = Date()
            for certificate in certificates {
                let revoked = crl?.revocationDates[certificate.serial]
                let status = revoked != nil ? "revoked" : now > certificate.notAfter ? "expired"
                    : now < certificate.notBefore ? "not-yet-valid" : "valid"
                if json {
                    var object = JSONObject([
                        "serial": .string(certificate.serial), "subject": .string(certificate.commonName ?? ""),
                        "san": .array(certificate.uris.map { .string($0) }), "alg": .string(certificate.algorithm.rawValue),
                        "ca": .bool(certificate.isCA),
                        "notBefore": .string(Timestamp.string(certificate.notBefore)),
                        "notAfter": .string(Timestamp.string(certificate.notAfter)), "status": .string(status),
                    ])
                    if let revoked { object["revokedAt"] = .string(Timestamp.string(revoked)) }
                    Console.out.line(JSONValue.object(object).canonicalBytes())
                } else {
                    let san = certificate.isCA ? "(root CA)" : certificate.uris.joined(separator: ",")
                    Console.out.line(
                        [certificate.serial, certificate.algorithm.rawValue, Timestamp.string(certificate.notBefore),
                         Timestamp.string(certificate.notAfter), status, san, certificate.commonName ?? ""].joined(separator: "  "))
                }
            }
            Console.out.flush()
        }
    }
}

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

/// Maps `SigningError`s to messages on standard error and the exit codes of cli.md.
enum SigningFailure {
    static func exit(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SigningError {
            Console.error("xgw: \(error.message)")
            throw exitCode(error.code)
        }
    }

    static func exitCode(_ code: SigningError.Code) -> ExitCode {
        switch code {
        case .cannotOpen: Exit.noInput
        case .io: Exit.ioError
        case .cryptoFailure: Exit.software
        case .keyMismatch, .unsupportedAlgorithm: Exit.usage
        default: Exit.dataError
        }
    }
}

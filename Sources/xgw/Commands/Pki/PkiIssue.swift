import ArgumentParser
import GatewaySigning

/// `xgw pki issue`: a key and certificate for an office.
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
    @OptionGroup var seeds: PkiSeeds
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
        guard let entry = try seeds.load(hint: "; give --name").participant(participant) else {
            throw ValidationError("\(participant) is not in \(seeds.folder)/participants.yaml; give --name")
        }
        return entry.name
    }
}

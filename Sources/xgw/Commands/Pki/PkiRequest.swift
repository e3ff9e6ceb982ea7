import ArgumentParser
import GatewaySigning

/// `xgw pki request`: on a node, a participant's key and a PKCS#10 request for its signing certificate.
struct PkiRequest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Make a participant's key (offices/<id>.key.pem, 0600) and certificate request (offices/<id>.csr.pem).",
        discussion: """
            Run it on the node that hosts the participant (--dir is that node's PKI folder): the key never leaves it. \
            Take only the .csr.pem to the alliance's PKI folder (xgw pki sign-request there) and bring the .cert.pem back \
            next to the key.
            """)

    @OptionGroup var pki: PkiOptions
    @Argument(help: ArgumentHelp("The participant id (seeds/participants.yaml).", valueName: "PARTICIPANT"))
    var participant: String
    @Option(help: "Key algorithm.") var alg: SignatureAlgorithm = .sm2sm3
    @OptionGroup var seeds: PkiSeeds
    @Flag(help: "Replace the participant's existing key on this node.") var force = false

    func run() async throws {
        guard try seeds.load().participant(participant) != nil else {
            throw ValidationError("\(participant) is not in \(seeds.folder)/participants.yaml")
        }
        try SigningFailure.exit {
            let request = try pki.directory.request(officeID: participant, algorithm: alg, force: force)
            PkiRequest.printRequest(request, key: pki.directory.officeKeyPath(participant), path: pki.directory.officeRequestPath(participant))
        }
    }

    static func printRequest(_ request: CertificateRequest, key: String, path: String) {
        Console.out.line("request \(request.commonName ?? "-") \(request.algorithm) \(request.alternativeNames)")
        Console.out.line("key: \(key)")
        Console.out.line("request: \(path)")
        Console.out.flush()
    }
}

import ArgumentParser
import Foundation
import GatewayModel
import GatewaySigning

/// `xgw pki list`: every certificate issued, with its status.
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

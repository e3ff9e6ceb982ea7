import ArgumentParser
import Foundation
import GatewayModel
import GatewaySigning

/// `xgw pki list`: every certificate issued from both roots, with its status.
struct PkiList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every certificate issued (both roots): serial, subject, SAN, validity, revocation.")

    @OptionGroup var pki: PkiOptions
    @Flag(help: "One JSON object per certificate instead of a table.") var json = false

    func run() async throws {
        try SigningFailure.exit {
            let directory = pki.directory
            let certificates = try directory.issued()
            var crls: [PKIRoot: CertificateRevocationList] = [:]
            for root in PKIRoot.allCases { crls[root] = try? directory.revocationList(root) }
            let now = Date()
            for certificate in certificates {
                let root = try directory.issuingRoot(of: certificate)
                let revoked = crls[root]?.revocationDates[certificate.serial]
                let status = revoked != nil ? "revoked" : now > certificate.notAfter ? "expired"
                    : now < certificate.notBefore ? "not-yet-valid" : "valid"
                let names = certificate.alternativeNames
                if json {
                    var object = JSONObject([
                        "serial": .string(certificate.serial), "subject": .string(certificate.commonName ?? ""),
                        "san": .array(certificate.uris.map { .string($0) }), "alg": .string(certificate.algorithm.rawValue),
                        "ca": .bool(certificate.isCA), "root": .string(root.rawValue),
                        "notBefore": .string(Timestamp.string(certificate.notBefore)),
                        "notAfter": .string(Timestamp.string(certificate.notAfter)), "status": .string(status),
                    ])
                    if !names.dnsNames.isEmpty { object["dns"] = .array(names.dnsNames.map { .string($0) }) }
                    if !names.ipAddresses.isEmpty { object["ip"] = .array(names.ipAddresses.map { .string($0) }) }
                    if let revoked { object["revokedAt"] = .string(Timestamp.string(revoked)) }
                    Console.out.line(JSONValue.object(object).canonicalBytes())
                } else {
                    let san = certificate.isCA ? (root == .signing ? "(root CA)" : "(TLS root CA)")
                        : (names.uris + names.dnsNames.map { "DNS:" + $0 } + names.ipAddresses.map { "IP:" + $0 }).joined(separator: ",")
                    Console.out.line(
                        [certificate.serial, certificate.algorithm.rawValue, Timestamp.string(certificate.notBefore),
                         Timestamp.string(certificate.notAfter), status, san, certificate.commonName ?? ""].joined(separator: "  "))
                }
            }
            Console.out.flush()
        }
    }
}

import ArgumentParser
import Foundation
import GatewaySigning

/// `xgw bench …`: throughput measurements that print records/s and per-record cost.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput (records/s, µs per record) on this machine, one core.",
        subcommands: [
            BenchTranslate.self,
            BenchLarge.self,
            BenchPipeline.self,
            BenchSign.self,
            BenchQueue.self,
        ])
}

/// An office signer certified for a day by a throwaway root: what the signing benchmarks seal with.
struct BenchOffice {
    let root: CertificateAuthority
    let signer: Signer

    init(_ algorithm: SignatureAlgorithm, officeID: String, commonName: String) throws {
        root = try CertificateAuthority.create(algorithm: algorithm, commonName: "bench root")
        let key = try PrivateKey.generate(algorithm)
        let certificate = try root.issue(
            officeID: officeID, commonName: commonName, subjectKey: key.publicKey, notAfter: Date().addingTimeInterval(86_400))
        signer = try Signer(key: key, certificate: certificate)
    }
}

import Foundation
import GatewaySigning

/// An office signer certified for a day by a throwaway root: what the signing benchmarks seal with.
public struct BenchOffice {
    public let root: CertificateAuthority
    public let signer: Signer

    public init(_ algorithm: SignatureAlgorithm, officeID: String, commonName: String) throws {
        root = try CertificateAuthority.create(algorithm: algorithm, commonName: "bench root")
        let key = try PrivateKey.generate(algorithm)
        let certificate = try root.issue(
            officeID: officeID, commonName: commonName, subjectKey: key.publicKey, notAfter: Date().addingTimeInterval(86_400))
        signer = try Signer(key: key, certificate: certificate)
    }
}

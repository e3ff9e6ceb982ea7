import Foundation
@testable import GatewaySigning

extension TestSupport {
    /// The participants `sign-request` knows in these tests (id → display name), as
    /// seeds/participants.yaml would give them.
    static let participants: [String: String] = [
        "xinsheng": "新盛镇川渝联合执法办公室", "renshi": "任市镇川渝联合执法办公室",
        "office-a": "Office A", "office-b": "Office B",
    ]

    static func participantName(_ id: String) -> String? { participants[id] }

    /// A fresh alliance PKI folder with both roots (signing root of `algorithm`, P-256 TLS root).
    static func alliance(_ algorithm: SignatureAlgorithm = .sm2sm3) throws -> PKIDirectory {
        let path = try temporaryDirectory().appendingPathComponent("alliance").path
        try PKIDirectory.initialize(
            at: path, algorithm: algorithm, commonName: "川渝联合执法联盟根证书", days: 3650, tlsCommonName: "川渝联合执法联盟 TLS 根证书")
        return PKIDirectory(path: path)
    }

    /// Writes `request` as `<directory>/<fileName>` and returns the path.
    static func write(_ request: CertificateRequest, as fileName: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent(fileName).path
        try FileBytes.write(try request.pem(), to: path)
        return path
    }

    /// The `.cert.pem` files of the `issued/` folder.
    static func issuedCount(_ pki: PKIDirectory) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: pki.issuedDirectory)) ?? []).filter { $0.hasSuffix(".cert.pem") }.count
    }
}

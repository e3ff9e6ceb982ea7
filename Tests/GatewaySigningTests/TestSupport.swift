import Foundation
import GatewayModel
@testable import GatewaySigning

/// Paths, temporary directories, an `openssl` runner and ready-made PKIs for the signing tests.
enum TestSupport {
    /// The package root, found from this file's path (Tests/GatewaySigningTests/TestSupport.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `../shared/testdata` next to the package.
    static let testdata = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata")

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-sign-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs the `openssl` command line; returns its exit status and standard output.
    @discardableResult
    static func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(["openssl"] + arguments)
    }

    /// Runs `command` (found on PATH); returns its exit status and its standard output and error together.
    static func run(_ command: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A canonical traffic record with non-ASCII text, as the translator produces it.
    static let record: JSONValue = [
        "kind": "traffic-violation",
        "schemaVersion": 1,
        "recordId": "sc-traffic:510000202307110001",
        "source": ["region": "sichuan", "system": "sc-traffic", "format": "sc-traffic-xml/1"],
        "updatedAt": "2023-07-11T08:31:02+08:00",
        "vehicle": ["plate": "川A12345", "plateType": "02"],
        "occurredAt": "2023-07-11T08:30:00+08:00",
        "location": ["divisionCode": "511702", "address": "新盛镇 G318 线 K2310+500"],
        "violation": ["code": "1345", "description": "机动车违反禁令标志指示"],
        "penalty": ["fineFen": 20000, "points": 3],
        "status": "pending",
        "agency": ["name": "新盛镇川渝联合执法办公室"],
    ]

    /// A root CA with two office certificates (xinsheng, renshi) of one algorithm.
    struct PKI {
        let ca: CertificateAuthority
        let xinsheng: Signer
        let renshi: Signer
        let trust: TrustStore

        init(_ algorithm: SignatureAlgorithm, leafAlgorithm: SignatureAlgorithm? = nil) throws {
            ca = try CertificateAuthority.create(
                algorithm: algorithm, commonName: "川渝联合执法联盟根证书 \(algorithm)", notBefore: Date().addingTimeInterval(-30 * 86_400))
            xinsheng = try Self.office("xinsheng", "新盛镇川渝联合执法办公室", leafAlgorithm ?? algorithm, ca)
            renshi = try Self.office("renshi", "仁市镇川渝联合执法办公室", leafAlgorithm ?? algorithm, ca)
            trust = try TrustStore(roots: [ca.certificate])
        }

        static func office(
            _ id: String, _ name: String, _ algorithm: SignatureAlgorithm, _ ca: CertificateAuthority,
            notBefore: Date = Date().addingTimeInterval(-3600), notAfter: Date = Date().addingTimeInterval(86_400 * 30)
        ) throws -> Signer {
            let key = try PrivateKey.generate(algorithm)
            let certificate = try ca.issue(
                officeID: id, commonName: name, subjectKey: key.publicKey, notBefore: notBefore, notAfter: notAfter)
            return try Signer(key: key, certificate: certificate)
        }

        func seal(_ signer: Signer? = nil, from: String = "xinsheng") throws -> Envelope {
            try Envelope.seal(record: TestSupport.record, from: from, to: ["renshi"], signer: signer ?? xinsheng)
        }
    }

    /// The failure code of a verification, or nil when it succeeded.
    static func code(_ result: Result<Certificate, VerificationFailure>) -> VerificationFailure.Code? {
        switch result {
        case .success: nil
        case .failure(let failure): failure.code
        }
    }
}

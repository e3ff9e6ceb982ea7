import Foundation
import GatewaySigning

/// `openssl speed` run as a child process: the raw per-signature rate of the command line tool on
/// this machine, one core, as the issue 18 goals compare against ("the raw per-record SM2 sign
/// rate of `openssl speed` in the same run").
enum OpenSSLSpeed {
    /// `openssl speed`'s name for the algorithm.
    static func name(_ algorithm: SignatureAlgorithm) -> String {
        switch algorithm {
        case .sm2sm3: "sm2"
        case .es256: "ecdsap256"
        case .ed25519: "ed25519"
        }
    }

    /// Signatures per second from `openssl speed -seconds N <alg>`; nil when openssl is missing or
    /// its output has no result line.
    static func signRate(_ algorithm: SignatureAlgorithm, seconds: Int) -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "speed", "-seconds", String(seconds), name(algorithm)]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return parse(String(decoding: data, as: UTF8.self))
    }

    /// The sign/s column of the last result line (`256 bits SM2 (CurveSM2)   0.0009s   0.0007s   1164.9   1356.4`).
    static func parse(_ output: String) -> Double? {
        for line in output.split(separator: "\n").reversed() where line.contains(" bits ") {
            let numbers = line.split(separator: " ").compactMap { Double($0) }
            if numbers.count >= 3 { return numbers[numbers.count - 2] }
        }
        return nil
    }
}

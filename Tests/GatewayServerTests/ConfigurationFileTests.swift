import Foundation
import GatewayServer
import Testing

/// `xgw serve --config` decoded as a `Codable` type: every key optional, unknown keys refused at
/// every level (issue 12 point 5; issue 16 item 15 found `retry:` typos silently ignored).
@Suite struct ConfigurationFileTests {
    static func load(_ yaml: String) throws -> ServerConfiguration {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-config-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try ServerConfiguration.load(file: file, environment: [:])
    }

    static func refusal(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func everyKeyIsRead() throws {
        let c = try Self.load(
            """
            listen: 0.0.0.0
            port: 9090
            data: /tmp/xgw-data
            database: sqlite:/tmp/x.sqlite
            pki: /tmp/pki
            mappings: M
            seeds: S
            algorithm: ES256
            certificateDays: 100
            maxBodyBytes: 1024
            retentionDays: 7.5
            maxLease: 50
            idleTimeoutSeconds: 5
            requestTimeoutSeconds: 60
            certificateWarningDays: 14
            retry: { baseDelaySeconds: 2, maxDelaySeconds: 60, jitter: 0.1, maxDeliveries: 3 }
            """)
        #expect(c.listen == "0.0.0.0" && c.port == 9090 && c.dataDirectory == "/tmp/xgw-data")
        #expect(c.database == "sqlite:/tmp/x.sqlite" && c.pkiDirectory == "/tmp/pki")
        #expect(c.mappingsDirectory == "M" && c.seedsDirectory == "S" && c.algorithm == .es256)
        #expect(c.certificateDays == 100 && c.maxBodyBytes == 1024 && c.retentionDays == 7.5 && c.maxLease == 50)
        #expect(c.idleTimeoutSeconds == 5 && c.requestTimeoutSeconds == 60 && c.certificateWarningDays == 14)
        #expect(c.retry.baseDelay == 2 && c.retry.maxDelay == 60 && c.retry.jitter == 0.1 && c.retry.maxDeliveries == 3)
    }

    @Test func anEmptyFileKeepsTheDefaults() throws {
        #expect(try Self.load("") == ServerConfiguration())
        #expect(try Self.load("# nothing\n") == ServerConfiguration())
    }

    @Test func unknownKeysAreRefusedAtEveryLevel() {
        #expect(Self.refusal("prot: 8080\n")?.contains("unknown key 'prot'") == true)
        let nested = Self.refusal("retry:\n  maxDelivery: 3\n")
        #expect(nested?.contains("unknown key 'retry.maxDelivery'") == true, "\(nested ?? "accepted")")
        #expect(nested?.contains("retry.maxDeliveries") == true, "the message lists the known keys")
    }

    @Test func aValueOfTheWrongTypeNamesItsKey() {
        #expect(Self.refusal("port: eighty\n")?.contains("'port' must be an integer") == true)
        #expect(Self.refusal("retry: { jitter: lots }\n")?.contains("'retry.jitter' must be a number") == true)
        #expect(Self.refusal("retry: 3\n")?.contains("'retry'") == true)
        #expect(Self.refusal("- a\n- b\n")?.contains("top level must be a mapping") == true)
        #expect(Self.refusal("port: [1\n")?.contains("not YAML") == true)
        #expect(Self.refusal("idleTimeoutSeconds: 0\n")?.contains("idleTimeoutSeconds") == true)
    }
}

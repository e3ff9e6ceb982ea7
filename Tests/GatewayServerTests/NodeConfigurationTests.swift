import Foundation
import GatewayServer
import Testing

/// The `node` section of `xgw serve --config`: read whole, defaults, and unknown keys refused at
/// `node.` and `node.federation.` as at the top level.
@Suite struct NodeConfigurationTests {
    static let minimal = """
        node:
          id: renshi-node
          directory: ./directory.json
          federation:
            certificate: ./pki/nodes/renshi-node.cert.pem
            key: ./pki/nodes/renshi-node.key.pem
        """

    @Test func everyKeyIsRead() throws {
        let c = try ConfigurationFileTests.load(
            """
            pki: /srv/pki
            node:
              id: renshi-node
              hosts: [renshi, dachuan]
              directory: /srv/directory.json
              directoryPollSeconds: 60
              maxEnvelopeAgeDays: 7
              federation:
                listen: 127.0.0.1
                port: 9443
                certificate: /srv/pki/nodes/renshi-node.cert.pem
                key: /srv/pki/nodes/renshi-node.key.pem
                trust: /srv/tls-ca.cert.pem
            """)
        let node = try #require(c.node)
        #expect(node.id == "renshi-node" && node.hosts == ["renshi", "dachuan"] && node.directory == "/srv/directory.json")
        #expect(node.directoryPollSeconds == 60 && node.maxEnvelopeAgeDays == 7)
        #expect(node.federation.listen == "127.0.0.1" && node.federation.port == 9443)
        #expect(node.federation.certificate == "/srv/pki/nodes/renshi-node.cert.pem" && node.federation.key == "/srv/pki/nodes/renshi-node.key.pem")
        #expect(node.trustPath(pkiPath: c.pkiPath) == "/srv/tls-ca.cert.pem")
    }

    @Test func defaultsAndNoSection() throws {
        let node = try #require(try ConfigurationFileTests.load(Self.minimal + "\npki: /srv/pki\n").node)
        #expect(node.hosts == nil && node.directoryPollSeconds == 300 && node.maxEnvelopeAgeDays == 30)
        #expect(node.federation.listen == "0.0.0.0" && node.federation.port == 8443 && node.federation.trust == nil)
        #expect(node.trustPath(pkiPath: "/srv/pki") == "/srv/pki/tls-ca.cert.pem")
        #expect(try ConfigurationFileTests.load("port: 8080").node == nil)
    }

    @Test func unknownAndMissingKeysAreRefusedNamingThem() {
        let typo = ConfigurationFileTests.refusal(Self.minimal.replacingOccurrences(of: "  directory:", with: "  directroy:"))
        #expect(typo?.contains("node.directroy") == true, "\(typo ?? "accepted")")
        let nested = ConfigurationFileTests.refusal(Self.minimal + "\n    trusted: ./x.pem")
        #expect(nested?.contains("node.federation.trusted") == true, "\(nested ?? "accepted")")
        let missing = ConfigurationFileTests.refusal(Self.minimal.replacingOccurrences(of: "    key: ./pki/nodes/renshi-node.key.pem", with: ""))
        #expect(missing?.contains("'node.federation.key' is missing") == true, "\(missing ?? "accepted")")
        let port = ConfigurationFileTests.refusal(Self.minimal + "\n    port: 70000")
        #expect(port?.contains("node.federation.port") == true, "\(port ?? "accepted")")
        let twice = ConfigurationFileTests.refusal(Self.minimal + "\n  hosts: [renshi, renshi]")
        #expect(twice?.contains("node.hosts") == true, "\(twice ?? "accepted")")
    }
}

import GatewayModel
import GatewaySigning

/// One node of the directory: where it is reached, the TLS certificate(s) it presents, the
/// participants it hosts.
public struct DirectoryNode: Sendable, Hashable {
    public var id: String
    /// `https://host[:port]`: where its node-to-node API listens.
    public var url: String
    /// Lower-case hex SHA-256 of its node certificate's DER.
    public var tlsCertificateSha256: String
    /// A second pin accepted for the node while it changes its TLS certificate.
    public var nextTlsCertificateSha256: String?
    /// The participants whose keys and inboxes this node holds.
    public var hosts: [String]

    public init(id: String, url: String, tlsCertificateSha256: String, nextTlsCertificateSha256: String? = nil, hosts: [String]) {
        self.id = id
        self.url = url
        self.tlsCertificateSha256 = tlsCertificateSha256
        self.nextTlsCertificateSha256 = nextTlsCertificateSha256
        self.hosts = hosts
    }

    /// Every pin accepted for this node: the current one, then the next one when there is one.
    public var pins: [String] { [tlsCertificateSha256] + (nextTlsCertificateSha256.map { [$0] } ?? []) }

    /// Whether a certificate whose DER has this SHA-256 (lower-case hex) is one this node presents.
    public func isPinned(_ sha256: String) -> Bool { pins.contains(sha256) }

    /// The node as the directory lists it (members in federation.md's order; JCS sorts them anyway).
    public var json: JSONValue {
        var object = JSONObject([
            "id": .string(id), "url": .string(url), "tlsCertificateSha256": .string(tlsCertificateSha256),
        ])
        if let nextTlsCertificateSha256 { object["nextTlsCertificateSha256"] = .string(nextTlsCertificateSha256) }
        object["hosts"] = .array(hosts.map { .string($0) })
        return .object(object)
    }
}

extension DirectoryNode {
    /// A certificate's pin: lower-case hex SHA-256 of its DER.
    public static func pin(of certificate: Certificate) -> String { Digest.hex(.sha256, certificate.der) }
}

import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import TestSupport
import Testing

/// `xgw directory sign | verify | show` end to end, through the built `xgw` binary.
@Suite struct DirectoryCommandTests {
    typealias Run = ToolRun

    /// Runs `xgw ARGS…` in `folder`.
    static func xgw(_ arguments: [String], in folder: URL) throws -> Run {
        try TestBinary.run("xgw", arguments, in: folder, environment: ["NO_COLOR": "1"])
    }

    static func source(serial: Int, validDays: Int = 7, xinshengHosts: String = "[xinsheng, liangping, liangping-xinsheng]", certificateOf: (String) -> String) -> String {
        """
        serial: \(serial)
        validDays: \(validDays)                 # nextUpdate = issuedAt + validDays
        nodes:
          - id: renshi-node
            url: https://renshi-gw.example:8443
            certificate: \(certificateOf("renshi-node"))
            nextCertificate: \(certificateOf("renshi-node.next"))
            hosts: [renshi, kaijiang, kaijiang-renshi, dachuan]
          - id: xinsheng-node
            url: https://xinsheng-gw.example:8443
            certificate: \(certificateOf("xinsheng-node"))
            hosts: \(xinshengHosts)

        """
    }

    @Test func signVerifyShowAndTheirRefusals() throws {
        let pki = try FederationPKI(algorithm: .sm2sm3)
        let other = try FederationPKI()
        defer { pki.remove(); other.remove() }
        let folder = pki.folder
        // Relative to the PKI folder, and absolute.
        try Self.source(serial: 7, certificateOf: { $0 == "xinsheng-node" ? pki.pki.nodeCertificatePath($0) : "nodes/\($0).cert.pem" })
            .write(to: folder.appendingPathComponent("source.yaml"), atomically: true, encoding: .utf8)

        let signed = try Self.xgw(["directory", "sign", "source.yaml", "--pki", "pki"], in: folder)
        #expect(signed.status == 0, "\(signed.error)")
        try signed.output.write(to: folder.appendingPathComponent("directory.json"), atomically: true, encoding: .utf8)
        let document = try SignedDirectory(bytes: Array(signed.output.utf8.dropLast()))
        #expect(document.canonicalBytes() == Array(signed.output.utf8.dropLast()))
        let directory = try document.verify(anchors: [pki.root.certificate], at: Date()).get()
        #expect(directory.serial == 7)
        #expect(directory.node(id: "renshi-node")?.tlsCertificateSha256 == (try pki.pin("renshi-node")))
        #expect(directory.node(id: "renshi-node")?.nextTlsCertificateSha256 == (try pki.pin("renshi-node-next")))
        #expect(directory.node(id: "xinsheng-node")?.tlsCertificateSha256 == (try pki.pin("xinsheng-node")))
        #expect(directory.node(id: "xinsheng-node")?.hosts == ["xinsheng", "liangping", "liangping-xinsheng"])
        #expect(document.signature.alg == "SM2-SM3")
        #expect(abs(directory.issuedAt.timeIntervalSinceNow) < 120)
        #expect(directory.nextUpdate.timeIntervalSince(directory.issuedAt) == 7 * 86_400)

        let verified = try Self.xgw(["directory", "verify", "directory.json", "--trust", "pki/ca.cert.pem"], in: folder)
        #expect(verified.status == 0, "\(verified.error)")
        #expect(verified.output == "ok serial 7\n")

        let shown = try Self.xgw(["directory", "show", "directory.json"], in: folder)
        #expect(shown.status == 0, "\(shown.error)")
        #expect(shown.output.contains("serial      7\n"))
        #expect(shown.output.contains("current"))
        for id in ["renshi-node", "xinsheng-node"] {
            let line = try #require(shown.output.split(separator: "\n").first { $0.hasPrefix(id) })
            #expect(line.contains(try pki.pin(id)))
            #expect(line.contains(directory.node(id: id)!.url))
            #expect(line.contains(directory.node(id: id)!.hosts.joined(separator: ", ")))
        }
        #expect(shown.output.contains("next " + (try pki.pin("renshi-node-next"))))
        let later = Timestamp.string(directory.nextUpdate.addingTimeInterval(60))
        #expect(try Self.xgw(["directory", "show", "directory.json", "--at", later], in: folder).output.contains("stale: past nextUpdate"))
        let staleVerify = try Self.xgw(["directory", "verify", "directory.json", "--trust", "pki/ca.cert.pem", "--at", later], in: folder)
        #expect(staleVerify.status == 0 && staleVerify.error.contains("past its nextUpdate"))

        // Another root's trust anchor: exit 1, the reason on standard error.
        let foreign = try Self.xgw(["directory", "verify", "directory.json", "--trust", other.pki.caCertificatePath], in: folder)
        #expect(foreign.status == 1)
        #expect(foreign.output.isEmpty)
        #expect(foreign.error.contains("untrusted-certificate") && foreign.error.contains("/signature"))

        // A tampered member: exit 1, bad-signature.
        let tampered = signed.output.replacingOccurrences(of: "https://xinsheng-gw.example:8443", with: "https://xinsheng-gw.example:9443")
        try tampered.write(to: folder.appendingPathComponent("tampered.json"), atomically: true, encoding: .utf8)
        let bad = try Self.xgw(["directory", "verify", "tampered.json", "--trust", "pki/ca.cert.pem"], in: folder)
        #expect(bad.status == 1)
        #expect(bad.error.contains("bad-signature"))

        // Not a directory, and a missing file.
        try Data("{}".utf8).write(to: folder.appendingPathComponent("empty.json"))
        let empty = try Self.xgw(["directory", "verify", "empty.json", "--trust", "pki/ca.cert.pem"], in: folder)
        #expect(empty.status == 1 && empty.error.contains("/directory") && empty.error.contains("malformed-directory"))
        #expect(try Self.xgw(["directory", "verify", "missing.json", "--trust", "pki/ca.cert.pem"], in: folder).status == 66)
        #expect(try Self.xgw(["directory", "show", "missing.json"], in: folder).status == 66)
    }

    @Test func signRefusesASourceThatBreaksARuleOrCannotBeRead() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let folder = pki.folder
        // renshi hosted twice: refused with the member's pointer and the node's line in the source.
        try Self.source(serial: 8, xinshengHosts: "[xinsheng, renshi]", certificateOf: { "nodes/\($0).cert.pem" })
            .write(to: folder.appendingPathComponent("twice.yaml"), atomically: true, encoding: .utf8)
        let twice = try Self.xgw(["directory", "sign", "twice.yaml", "--pki", "pki"], in: folder)
        #expect(twice.status == 65)
        #expect(twice.output.isEmpty)
        #expect(twice.error.contains("twice.yaml:9: /directory/nodes/1/hosts/1"), "\(twice.error)")
        #expect(twice.error.contains("participant-hosted-twice"))

        // The node's next certificate is its current one: one pin twice.
        try Self.source(serial: 8, certificateOf: { $0 == "renshi-node.next" ? "nodes/renshi-node.cert.pem" : "nodes/\($0).cert.pem" })
            .write(to: folder.appendingPathComponent("pins.yaml"), atomically: true, encoding: .utf8)
        let pins = try Self.xgw(["directory", "sign", "pins.yaml", "--pki", "pki"], in: folder)
        #expect(pins.status == 65 && pins.error.contains("duplicate-pin"), "\(pins.error)")

        // A typo in a key, a missing certificate, a CA certificate, a certificate of another node or of
        // an office, a node certificate of another TLS root, a missing source.
        try "serial: 1\nvaliddays: 7\nnodes: []\n".write(to: folder.appendingPathComponent("typo.yaml"), atomically: true, encoding: .utf8)
        let typo = try Self.xgw(["directory", "sign", "typo.yaml", "--pki", "pki"], in: folder)
        #expect(typo.status == 65 && typo.error.contains("typo.yaml:2:1") && typo.error.contains("validdays"), "\(typo.error)")
        try Self.source(serial: 8, certificateOf: { "nodes/\($0).crt" })
            .write(to: folder.appendingPathComponent("nocert.yaml"), atomically: true, encoding: .utf8)
        #expect(try Self.xgw(["directory", "sign", "nocert.yaml", "--pki", "pki"], in: folder).status == 66)
        try pki.pki.issue(officeID: "xinsheng", commonName: "新盛", algorithm: .es256, days: 30)
        let other = try FederationPKI()
        defer { other.remove() }
        for (name, certificate, reason) in [
            ("ca", "ca.cert.pem", "names no node"), ("tls-ca", "tls-ca.cert.pem", "names no node"),
            ("office", "offices/xinsheng.cert.pem", "names no node"), ("swapped", "nodes/renshi-node.cert.pem", "names renshi-node"),
            ("foreign", other.pki.nodeCertificatePath("xinsheng-node"), "refused by the TLS root"),
        ] {
            try Self.source(serial: 8, certificateOf: { $0 == "xinsheng-node" ? certificate : "nodes/\($0).cert.pem" })
                .write(to: folder.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
            let refused = try Self.xgw(["directory", "sign", "\(name).yaml", "--pki", "pki"], in: folder)
            #expect(refused.status == 65 && refused.error.contains(reason), "\(name): \(refused.error)")
            #expect(refused.output.isEmpty)
        }
        #expect(try Self.xgw(["directory", "sign", "absent.yaml", "--pki", "pki"], in: folder).status == 66)

        // --issued-at: the times are the ones given.
        try Self.source(serial: 9, validDays: 2, certificateOf: { "nodes/\($0).cert.pem" })
            .write(to: folder.appendingPathComponent("ok.yaml"), atomically: true, encoding: .utf8)
        let dated = try Self.xgw(["directory", "sign", "ok.yaml", "--pki", "pki", "--issued-at", "2026-12-02T08:00:00Z"], in: folder)
        #expect(dated.status == 0, "\(dated.error)")
        let directory = try SignedDirectory(bytes: Array(dated.output.utf8)).content()
        #expect(directory.issuedAtText == "2026-12-02T16:00:00+08:00")
        #expect(directory.nextUpdateText == "2026-12-04T16:00:00+08:00")

        // The same source once renshi-node's certificate is revoked by the TLS CRL: refused.
        try pki.pki.revoke(serial: try Certificate(file: pki.pki.nodeCertificatePath("renshi-node")).serial)
        let revoked = try Self.xgw(["directory", "sign", "ok.yaml", "--pki", "pki"], in: folder)
        #expect(revoked.status == 65 && revoked.error.contains("revoked-certificate"), "\(revoked.error)")
        #expect(revoked.output.isEmpty)
    }
}

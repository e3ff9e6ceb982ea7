import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import Testing

/// federation.md's acceptance, as the pure function a node calls at start, on SIGHUP and when a peer
/// serves a newer directory.
@Suite struct DirectoryAcceptanceTests {
    static let renshi = DirectoryAcceptance.Node(id: "renshi-node", keys: FederationPKI.keys(of: "renshi-node"))

    static func evaluate(
        _ candidate: SignedDirectory, held: Directory? = nil, node: DirectoryAcceptance.Node = renshi, pki: FederationPKI, at time: Date = Date()
    ) -> DirectoryAcceptance {
        DirectoryAcceptance.evaluate(candidate, held: held, node: node, anchors: [pki.root.certificate], at: time)
    }

    @Test func aValidDirectoryIsAcceptedAtFirstStartAndOverALowerSerial() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let first = Self.evaluate(try pki.signed(serial: 7), pki: pki)
        #expect(first.isAccepted && !first.isUnchanged && !first.isStale)
        #expect(first.refusals.isEmpty && first.warnings.isEmpty)
        #expect(first.directory?.serial == 7)
        let newer = Self.evaluate(try pki.signed(serial: 8), held: first.directory, pki: pki)
        #expect(newer.isAccepted && !newer.isUnchanged)
    }

    @Test func aLowerSerialIsRefused() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let held = try pki.directory(serial: 7)
        let result = Self.evaluate(try pki.signed(serial: 6), held: held, pki: pki)
        #expect(!result.isAccepted)
        #expect(result.refusals.map(\.code) == [.serialNotNewer])
        #expect(result.refusals.first?.pointer?.description == "/directory/serial")
    }

    @Test func theSameSerialIsAcceptedOnlyWithIdenticalContent() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let issuedAt = Date()
        let held = try pki.directory(serial: 7, issuedAt: issuedAt)
        // Signed again (ECDSA: another signature value), the same content.
        let again = try SignedDirectory.sign(held, by: pki.root)
        let same = Self.evaluate(again, held: held, pki: pki)
        #expect(same.isAccepted && same.isUnchanged, "\(same.refusals)")
        // The same serial with another nextUpdate.
        let other = Self.evaluate(try pki.signed(serial: 7, issuedAt: issuedAt, days: 8), held: held, pki: pki)
        #expect(!other.isAccepted)
        #expect(other.refusals.map(\.code) == [.serialReused])
    }

    @Test func aDirectoryNotListingThisNodeIsRefused() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let stranger = DirectoryAcceptance.Node(id: "wanzhou-node", keys: [:])
        let result = Self.evaluate(try pki.signed(), node: stranger, pki: pki)
        #expect(!result.isAccepted)
        #expect(result.refusals.map(\.code) == [.nodeNotListed])
        #expect(result.refusals.first?.message.contains("wanzhou-node") == true)
    }

    @Test func aHostedParticipantWithoutItsKeyHereIsRefused() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        var keys = FederationPKI.keys(of: "renshi-node")
        keys["dachuan"] = nil
        let result = Self.evaluate(try pki.signed(), node: .init(id: "renshi-node", keys: keys), pki: pki)
        #expect(!result.isAccepted)
        #expect(result.refusals.map(\.code) == [.keyMissing])
        #expect(result.refusals.first?.participant == "dachuan")
        #expect(result.refusals.first?.pointer?.description == "/directory/nodes/0/hosts/3")
    }

    @Test func aKeyHereOfAParticipantOfAnotherNodeOrOfNoneIsRefusedNamingTheFile() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        var keys = FederationPKI.keys(of: "renshi-node")
        keys["liangping"] = "/srv/renshi/pki/offices/liangping.key.pem"
        keys["wanzhou"] = "/srv/renshi/pki/offices/wanzhou.key.pem"
        let result = Self.evaluate(try pki.signed(), node: .init(id: "renshi-node", keys: keys), pki: pki)
        #expect(!result.isAccepted)
        #expect(result.refusals.map(\.code) == [.foreignKey, .foreignKey])
        let liangping = try #require(result.refusals.first { $0.participant == "liangping" })
        #expect(liangping.message.contains("/srv/renshi/pki/offices/liangping.key.pem"))
        #expect(liangping.message.contains("xinsheng-node"))
        #expect(liangping.pointer?.description == "/directory/nodes/1/hosts/1")
        let wanzhou = try #require(result.refusals.first { $0.participant == "wanzhou" })
        #expect(wanzhou.message.contains("wanzhou.key.pem") && wanzhou.message.contains("no node"))
        #expect(wanzhou.pointer == nil)
    }

    @Test func configuredHostsMustBeTheDirectorys() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let hosts = FederationPKI.hosts["renshi-node"]!
        let same = DirectoryAcceptance.Node(id: "renshi-node", keys: Self.renshi.keys, configuredHosts: hosts.reversed())
        #expect(Self.evaluate(try pki.signed(), node: same, pki: pki).isAccepted)
        let fewer = DirectoryAcceptance.Node(id: "renshi-node", keys: Self.renshi.keys, configuredHosts: Array(hosts.dropLast()))
        #expect(Self.evaluate(try pki.signed(), node: fewer, pki: pki).refusals.map(\.code) == [.hostsMismatch])
    }

    @Test func aStaleDirectoryIsAcceptedAndReported() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let issuedAt = Date().addingTimeInterval(-3 * 86_400)
        let result = Self.evaluate(try pki.signed(issuedAt: issuedAt, days: 2), pki: pki)
        #expect(result.isAccepted && result.isStale)
        #expect(result.warnings.map(\.code) == [.stale])
        #expect(result.warnings.first?.pointer?.description == "/directory/nextUpdate")
        let fresh = Self.evaluate(try pki.signed(issuedAt: issuedAt, days: 4), pki: pki)
        #expect(fresh.isAccepted && !fresh.isStale)
    }

    @Test func everyReasonIsReported() throws {
        let ours = try FederationPKI()
        let theirs = try FederationPKI()
        defer { ours.remove(); theirs.remove() }
        var keys = FederationPKI.keys(of: "renshi-node")
        keys["renshi"] = nil
        let result = DirectoryAcceptance.evaluate(
            try theirs.signed(serial: 3), held: try ours.directory(serial: 7), node: .init(id: "renshi-node", keys: keys),
            anchors: [ours.root.certificate], at: Date())
        #expect(result.refusals.map(\.code) == [DirectoryProblem.Code(rawValue: "untrusted-certificate"), .keyMissing, .serialNotNewer])
        #expect(result.refusals.first?.pointer?.description == "/signature")
    }

    @Test func unreadableOrRuleBreakingDirectoriesAreRefusedWithTheirProblems() throws {
        let pki = try FederationPKI()
        defer { pki.remove() }
        let garbage = DirectoryAcceptance.evaluate(
            Array("not json".utf8), held: nil, node: Self.renshi, anchors: [pki.root.certificate], at: Date())
        #expect(!garbage.isAccepted && garbage.directory == nil)
        #expect(garbage.refusals.map(\.code) == [.malformed])

        // Signed by the root but breaking a rule (a pin used twice): refused for its content.
        var member = try pki.directory().member
        var json = JSONValue.object(member)
        try json.set(.string(try pki.pin("renshi-node")), at: JSONPointer("/nodes/1/tlsCertificateSha256")!)
        member = json.objectValue!
        let value = try pki.root.key.sign(JSONValue.object(member).canonicalBytes())
        let signed = SignedDirectory(
            member: member,
            signature: SignatureBlock(
                alg: "ES256", keyId: pki.root.certificate.keyId, certificate: Data(pki.root.certificate.der).base64EncodedString(),
                value: Data(value).base64EncodedString()))
        #expect(signed.verifySignature(anchors: [pki.root.certificate]).failure == nil)
        let result = Self.evaluate(signed, pki: pki)
        #expect(!result.isAccepted)
        #expect(result.refusals.map(\.code) == [.duplicatePin])
        #expect(result.refusals.first?.pointer?.description == "/directory/nodes/1/tlsCertificateSha256")
    }
}

import Foundation
import GatewaySigning
import Testing

/// `PKIDirectory.makeNodeFolder`: a node's pki folder holds the public roots and CRLs, its own node
/// key and the keys of the participants given to it, and nothing else of the alliance's folder.
@Suite struct NodeFolderTests {
    @Test func aNodeFolderHoldsItsOwnKeysAndThePublicFilesOnly() throws {
        let folder = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let alliance = PKIDirectory(path: folder.appendingPathComponent("alliance").path)
        try PKIDirectory.initialize(at: alliance.path, algorithm: .es256, commonName: "root", days: 2, tlsCommonName: "tls root")
        for node in ["renshi-node", "xinsheng-node"] {
            try alliance.issueNode(nodeID: node, names: SubjectAltNames(dnsNames: ["\(node).example"]), days: 2)
        }
        for id in ["renshi", "kaijiang", "xinsheng"] { try alliance.issue(officeID: id, commonName: id, algorithm: .es256, days: 2) }

        let path = folder.appendingPathComponent("renshi-node/pki").path
        let node = try alliance.makeNodeFolder("renshi-node", participants: ["renshi", "kaijiang"], at: path)
        #expect(node.path == path)
        let files = Set(try FileManager.default.subpathsOfDirectory(atPath: path))
        #expect(
            files == [
                "ca.cert.pem", "crl.pem", "tls-ca.cert.pem", "tls-crl.pem", "nodes", "nodes/renshi-node.key.pem", "nodes/renshi-node.cert.pem",
                "offices", "offices/renshi.key.pem", "offices/renshi.cert.pem", "offices/kaijiang.key.pem", "offices/kaijiang.cert.pem",
            ], "\(files.sorted())")
        #expect(FileManager.default.contents(atPath: node.officeKeyPath("renshi")) == FileManager.default.contents(atPath: alliance.officeKeyPath("renshi")))

        // Files already there are kept: a second call adds a participant and changes nothing else.
        try Data("kept".utf8).write(to: URL(fileURLWithPath: node.crlPath))
        try alliance.makeNodeFolder("renshi-node", participants: ["xinsheng"], at: path)
        #expect(FileManager.default.contents(atPath: node.crlPath) == Data("kept".utf8))
        #expect(FileManager.default.fileExists(atPath: node.officeKeyPath("xinsheng")))
    }
}

import Foundation

extension PKIDirectory {
    /// Makes, at `path`, the `pki` folder of `node` from this alliance folder, as a node holds it
    /// (federation.md, "Node configuration"): both roots' certificates and CRLs, the node's own TLS
    /// key and certificate, and the keys and certificates of `participants` (the ones it hosts),
    /// nothing else. Files already there are kept. For tests and benchmarks that issue every key at
    /// the alliance (`issue`, `issueNode`); a real node makes its keys at home (`request`).
    @discardableResult
    public func makeNodeFolder(_ node: String, participants: [String], at path: String) throws -> PKIDirectory {
        let folder = PKIDirectory(path: path)
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder.officesDirectory, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: folder.nodesDirectory, withIntermediateDirectories: true)
        var copies = [
            (caCertificatePath, folder.caCertificatePath), (crlPath, folder.crlPath),
            (tlsCACertificatePath, folder.tlsCACertificatePath), (tlsCRLPath, folder.tlsCRLPath),
            (nodeKeyPath(node), folder.nodeKeyPath(node)), (nodeCertificatePath(node), folder.nodeCertificatePath(node)),
        ]
        for id in participants {
            copies += [(officeKeyPath(id), folder.officeKeyPath(id)), (officeCertificatePath(id), folder.officeCertificatePath(id))]
        }
        for (from, to) in copies where !fm.fileExists(atPath: to) { try fm.copyItem(atPath: from, toPath: to) }
        return folder
    }
}

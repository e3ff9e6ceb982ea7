import ArgumentParser

/// `xgw pki …`: the alliance certificate authority on disk (layout: `PKIDirectory`).
struct PkiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Manage the alliance PKI: signing and TLS roots, office and node certificates, requests, revocation.",
        discussion: """
            Layout of the PKI folder: ca.key.pem (root key, 0600), ca.cert.pem (the trust anchor), crl.pem, \
            issued/<serial>.cert.pem (every certificate issued), offices/<id>.key.pem (0600) and \
            offices/<id>.cert.pem; the TLS root tls-ca.key.pem (0600), tls-ca.cert.pem and tls-crl.pem, \
            nodes/<id>.key.pem (0600) and nodes/<id>.cert.pem; requests <id>.csr.pem next to their keys. \
            Private keys are never printed.
            """,
        subcommands: [
            PkiInit.self, PkiInitTLS.self, PkiIssue.self, PkiIssueNode.self, PkiRequest.self, PkiRequestNode.self,
            PkiSignRequest.self, PkiRevoke.self, PkiList.self, PkiCRL.self,
        ])
}

import ArgumentParser

/// `xgw pki …`: the alliance certificate authority on disk (layout: `PKIDirectory`).
struct PkiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Manage the alliance PKI: root CA, office certificates, revocation.",
        discussion: """
            Layout of the PKI folder: ca.key.pem (root key, 0600), ca.cert.pem (the trust anchor), crl.pem, \
            issued/<serial>.cert.pem (every certificate issued), offices/<id>.key.pem (0600) and \
            offices/<id>.cert.pem. Private keys are never printed.
            """,
        subcommands: [PkiInit.self, PkiIssue.self, PkiRevoke.self, PkiList.self, PkiCRL.self])
}

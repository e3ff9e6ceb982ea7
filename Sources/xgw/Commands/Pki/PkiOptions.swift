import ArgumentParser
import GatewaySigning

/// `--dir`, the PKI folder every `xgw pki` subcommand works in.
struct PkiOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The PKI folder.", valueName: "DIR"))
    var dir = "data/pki"

    var directory: PKIDirectory { PKIDirectory(path: dir) }
}

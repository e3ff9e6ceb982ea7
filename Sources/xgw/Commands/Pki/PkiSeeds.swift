import ArgumentParser
import GatewayMapping

/// `--seeds`: where `xgw pki` looks participants up (seeds/participants.yaml), for `issue` (the CN),
/// `request` and `sign-request` (the id must be a participant).
struct PkiSeeds: ParsableArguments {
    @Option(help: ArgumentHelp("Folder of seed data.", valueName: "DIR")) var seeds: String?

    var folder: String { seeds ?? Installation.folder("seeds") }

    /// The seed data; a usage error (64) when it cannot be read, its message ending with `hint`.
    func load(hint: String = "") throws -> Seeds {
        do {
            return try Seeds.load(directory: folder)
        } catch {
            throw ValidationError("cannot read the participants of \(folder) (\(error))\(hint)")
        }
    }
}

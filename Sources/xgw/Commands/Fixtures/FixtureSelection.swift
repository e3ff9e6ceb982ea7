import ArgumentParser

/// `--fixtures` and `--filter`, shared by `fixtures test`, `fixtures update` and `mappings coverage`.
struct FixtureSelection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of fixtures.", valueName: "DIR"))
    var fixtures: String?

    @Option(name: .long, help: ArgumentHelp("Only fixtures whose id (mapping/name) contains this text.", valueName: "PATTERN"))
    var filter: String?

    var fixturesDirectory: String { fixtures ?? Installation.folder("Fixtures") }

    /// The fixtures folder used, and why (`Installation.describe`).
    var folder: String { Installation.describe("fixtures", given: fixtures, option: "--fixtures", name: "Fixtures") }

    func selected() -> [Fixture] {
        Fixture.discover(in: fixturesDirectory).filter { f in filter.map { f.id.contains($0) } ?? true }
    }
}

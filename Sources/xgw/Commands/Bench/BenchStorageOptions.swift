import ArgumentParser

/// `--directory` and `--database` of `xgw bench queue` and `xgw bench search`: where the SQLite
/// file goes, and the PostgreSQL server measured as well.
struct BenchStorageOptions: ParsableArguments {
    @Option(help: "Directory for the benchmark database, a new file per run (default: a fresh temporary directory).")
    var directory: String?

    @Option(help: ArgumentHelp(
        "Also measure the PostgreSQL driver on this server (postgres://user@host:port/db), in a scratch schema dropped afterwards.",
        valueName: "URL"))
    var database: String?
}

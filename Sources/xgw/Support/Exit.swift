import ArgumentParser

/// Exit codes of cli.md (sysexits).
enum Exit {
    static let checkFailed = ExitCode(1)
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let software = ExitCode(70)
    static let ioError = ExitCode(74)
    /// A configuration that cannot be used: mapping or seed files that do not load, a server
    /// configuration refused, a port already in use (EX_CONFIG; not in cli.md's table, see docs/cli.md).
    static let configuration = ExitCode(78)
}

import Foundation

/// Where the gateway finds its `Mappings/`, `seeds/` and `Fixtures/` folders: the current folder
/// when it has them (a checkout), else the folders above the executable (`.build/release/xgw`
/// inside a checkout), else the environment variable `XGW_HOME`.
enum Installation {
    static func folder(_ name: String) -> String {
        let fm = FileManager.default
        if let home = ProcessInfo.processInfo.environment["XGW_HOME"], fm.fileExists(atPath: home + "/" + name) {
            return home + "/" + name
        }
        if fm.fileExists(atPath: name) { return name }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(name).path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return name
    }
}

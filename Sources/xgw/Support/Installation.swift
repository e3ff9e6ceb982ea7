import Foundation

/// Where the gateway finds its `Mappings/`, `seeds/`, `Fixtures/` and `docs/spec/` folders, in this
/// order: the current folder when it has the folder (the checkout or copy you work in), else
/// `$XGW_HOME`, else the folders above the executable (`.build/release/xgw` inside a checkout).
/// `--mappings`, `--seeds` and `--fixtures` override all three. `XGW_HOME` set to a folder that does
/// not exist, or holds none of these folders, is warned about on standard error (once).
enum Installation {
    /// A folder found, and by which rule.
    struct Location {
        var path: String
        /// `current folder`, `XGW_HOME`, `beside the executable`, or `not found`.
        var origin: String
    }

    static func folder(_ name: String) -> String { locate(name).path }

    static func locate(_ name: String) -> Location {
        let fm = FileManager.default
        let home = usableHome
        if fm.fileExists(atPath: name) { return Location(path: name, origin: "current folder") }
        if let home, fm.fileExists(atPath: home + "/" + name) { return Location(path: home + "/" + name, origin: "XGW_HOME") }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(name).path
            if fm.fileExists(atPath: candidate) { return Location(path: candidate, origin: "beside the executable") }
            dir = dir.deletingLastPathComponent()
        }
        return Location(path: name, origin: "not found")
    }

    /// `$XGW_HOME` when it is set; warns the first time when it points nowhere useful.
    private static let usableHome: String? = {
        guard let home = ProcessInfo.processInfo.environment["XGW_HOME"], !home.isEmpty else { return nil }
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: home, isDirectory: &isDirectory) || !isDirectory.boolValue {
            Console.error("xgw: warning: XGW_HOME=\(home) is not a folder; it is ignored")
            return nil
        }
        if !["Mappings", "seeds", "Fixtures"].contains(where: { FileManager.default.fileExists(atPath: home + "/" + $0) }) {
            Console.error("xgw: warning: XGW_HOME=\(home) holds none of Mappings/, seeds/, Fixtures/")
        }
        return home
    }()

    /// `label /absolute/path (origin)`: a folder given by an option (`given`) or located by `name`;
    /// what `fixtures test`, `mappings lint` and `serve` print first, so that nobody proves the wrong mappings.
    static func describe(_ label: String, given: String?, option: String, name: String) -> String {
        let location = given.map { Location(path: $0, origin: option) } ?? locate(name)
        let absolute = location.path.hasPrefix("/") ? location.path : FileManager.default.currentDirectoryPath + "/" + location.path
        return "\(label) \(URL(fileURLWithPath: absolute).standardizedFileURL.path) (\(location.origin))"
    }
}

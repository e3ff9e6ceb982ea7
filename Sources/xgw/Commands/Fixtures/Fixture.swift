import Foundation

/// One fixture of `Fixtures/<mapping-id>/`: an input document and the canonical records and
/// rejections it must produce (see docs/fixtures.md).
struct Fixture {
    var folder: String
    var name: String
    var inputPath: String
    var expectedPath: String { base + ".expected.ndjson" }
    var rejectionsPath: String { base + ".rejections.ndjson" }
    var base: String
    /// `sc-traffic-xml/001-example`
    var id: String { folder + "/" + name }

    static let inputExtensions = ["xml", "json"]

    /// Every fixture under a folder, sorted by id.
    static func discover(in root: String) -> [Fixture] {
        let fm = FileManager.default
        var out: [Fixture] = []
        let folders = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted()
        for folder in folders {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: root + "/" + folder, isDirectory: &isDir), isDir.boolValue else { continue }
            for file in ((try? fm.contentsOfDirectory(atPath: root + "/" + folder)) ?? []).sorted() {
                guard let dot = file.lastIndex(of: "."), inputExtensions.contains(String(file[file.index(after: dot)...])) else { continue }
                let name = String(file[..<dot])
                out.append(Fixture(folder: folder, name: name, inputPath: "\(root)/\(folder)/\(file)", base: "\(root)/\(folder)/\(name)"))
            }
        }
        return out
    }
}

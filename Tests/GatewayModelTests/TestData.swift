import Foundation

/// Files of the shared contract, read at test time from `../shared` next to the package root.
enum TestData {
    /// The package root: the nearest folder above this file that holds `Package.swift`.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        Array(try Data(contentsOf: shared.appendingPathComponent(relativePath)))
    }

    static func files(in relativeFolder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: shared.appendingPathComponent(relativeFolder).path)
            .filter { $0.hasSuffix(".json") }.sorted()
    }
}

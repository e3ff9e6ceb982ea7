import Foundation

/// Executables and files the tests use: built products beside the test bundle, and the repository.
public enum TestBinary {
    /// The repository root (this file is `Tests/TestSupport/TestBinary.swift`).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The executable `name` built beside the test bundle (the test target must depend on it so
    /// that `swift test` builds it): searched from the running test binary up to four folders up.
    public static func url(_ name: String) throws -> URL {
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]), Bundle.main.bundleURL]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.insert(URL(fileURLWithPath: exe), at: 0)
        }
        for start in starts {
            var directory = start.deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw TestFailure("\(name) not found beside the test bundle (\(starts.map(\.path)))")
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a finished child process left: its exit status, standard output and standard error.
public struct ToolRun: Sendable {
    public var status: Int32
    public var output: String
    public var error: String
}

extension TestBinary {
    /// Runs the built executable `name` with `arguments` in `folder` (the repository root by
    /// default), with `environment` added to this process's, and waits for it.
    public static func run(
        _ name: String, _ arguments: [String], in folder: URL = repositoryRoot, environment extra: [String: String] = [:]
    ) throws -> ToolRun {
        try runCommand(try url(name).path, arguments, in: folder, environment: extra)
    }

    /// Runs any program (`path`) with `arguments` in `folder` and waits for it.
    public static func runCommand(
        _ path: String, _ arguments: [String], in folder: URL = repositoryRoot, environment extra: [String: String] = [:]
    ) throws -> ToolRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        // Standard error into a file: one pipe read to its end cannot block the child on the other.
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-stderr-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw TestFailure("cannot create \(errorFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        defer { try? errorHandle.close() }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errorHandle
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let error = try Data(contentsOf: errorFile)
        return ToolRun(
            status: process.terminationStatus, output: String(decoding: data, as: UTF8.self),
            error: String(decoding: error, as: UTF8.self))
    }
}

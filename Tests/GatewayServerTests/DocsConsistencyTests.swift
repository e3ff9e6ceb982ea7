import Foundation
import TestSupport
import Testing

/// The docs a new user follows agree with each other and with the code (issue 16 item 17).
@Suite struct DocsConsistencyTests {
    static let root = TestBinary.repositoryRoot

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The pages a new user reads first (docs/spec/ is the copied contract).
    static func pages() throws -> [(String, String)] {
        try ["README.md", "docs/cli.md", "docs/server.md", "docs/security.md", "docs/queue.md"].map { ($0, try read($0)) }
    }

    @Test func noPageLinksOutsideTheRepository() throws {
        for (page, text) in try Self.pages() {
            let folder = URL(fileURLWithPath: Self.root.appendingPathComponent(page).path).deletingLastPathComponent()
            let regex = try NSRegularExpression(pattern: #"\]\(([^)#\s]+)[^)]*\)|`(\.\./[^`\s]+)`"#)
            for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let group = match.range(at: 1).location != NSNotFound ? 1 : 2
                guard let range = Range(match.range(at: group), in: text) else { continue }
                let target = String(text[range])
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                let resolved = folder.appendingPathComponent(target).standardizedFileURL.path
                #expect(resolved.hasPrefix(Self.root.standardizedFileURL.path + "/"), "\(page) links outside the repository: \(target)")
                #expect(FileManager.default.fileExists(atPath: resolved), "\(page) links to a missing file: \(target)")
            }
        }
    }

    /// The top-level keys of the first ```yaml block after `## Configuration`.
    static func configurationKeys(_ text: String) throws -> Set<String> {
        let section = try #require(text.range(of: "## Configuration"))
        let start = try #require(text.range(of: "```yaml\n", range: section.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        var keys = Set<String>()
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") where !line.hasPrefix(" ") && !line.hasPrefix("#") {
            if let colon = line.firstIndex(of: ":") { keys.insert(String(line[..<colon])) }
        }
        return keys
    }

    @Test func readmeAndServerMdListTheSameConfigurationKeys() throws {
        let readme = try Self.configurationKeys(try Self.read("README.md"))
        let server = try Self.configurationKeys(try Self.read("docs/server.md"))
        #expect(readme.count > 10)
        #expect(readme == server, "only in README: \(readme.subtracting(server)); only in server.md: \(server.subtracting(readme))")
    }

    @Test func everySwiftRunOfXgwBuildsRelease() throws {
        for page in ["README.md", "docs/server.md"] {
            for line in try Self.read(page).split(separator: "\n") where line.contains("swift run") && line.contains("xgw serve") {
                #expect(line.contains("swift run -c release"), "\(page): \(line)")
            }
        }
    }

    @Test func theExitCodeTableListsEveryCodeTheCommandsUse() throws {
        let exit = try Self.read("Sources/xgw/Support/Exit.swift")
        let regex = try NSRegularExpression(pattern: #"ExitCode\((\d+)\)"#)
        let codes = regex.matches(in: exit, range: NSRange(exit.startIndex..., in: exit)).compactMap { Range($0.range(at: 1), in: exit).map { String(exit[$0]) } }
        #expect(codes.contains("78"))
        let table = try Self.read("docs/cli.md")
        for code in codes { #expect(table.contains("\n| \(code) | "), "docs/cli.md's exit table has no row for \(code)") }
    }

    @Test func noPageNamesACommandThatDoesNotExist() throws {
        for (page, text) in try Self.pages() {
            #expect(!text.contains("xgw receipt verify"), "\(page): receipts are verified by xgw verify")
        }
        // queue.md's stale-lease is the queue's code; it says what the HTTP API answers.
        #expect(try Self.read("docs/queue.md").contains("answers it 409 `unknown-lease`"))
    }
}

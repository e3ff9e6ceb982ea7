import Foundation
import TestSupport
import Testing

/// What an ops person or a clerk sees of the `xgw` commands (issue 16), through the built binary.
@Suite struct CommandLineEdgeTests {
    static let root = TestBinary.repositoryRoot

    /// Runs `xgw ARGS…` in `folder` without colours.
    static func xgw(_ arguments: [String], in folder: URL = root, environment: [String: String] = [:]) throws -> ToolRun {
        var extra = ["NO_COLOR": "1"]
        for (key, value) in environment { extra[key] = value }
        return try TestBinary.run("xgw", arguments, in: folder, environment: extra)
    }

    /// A fresh temporary folder.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    /// Replaces `old` by `new` in the file at `url` (which must hold it); returns the text before and after.
    @discardableResult
    static func edit(_ url: URL, _ old: String, _ new: String) throws -> (before: String, after: String) {
        let before = try String(contentsOf: url, encoding: .utf8)
        let after = before.replacingOccurrences(of: old, with: new)
        guard after != before else { throw TestFailure("\(url.lastPathComponent) holds no \(old)") }
        try after.write(to: url, atomically: true, encoding: .utf8)
        return (before, after)
    }

    // MARK: item 8

    @Test func verifyPrintsWhatAReceiptSays() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func run(_ arguments: [String], into file: String? = nil) throws -> ToolRun {
            let r = try Self.xgw(arguments, in: folder)
            #expect(r.status == 0, "\(arguments): \(r.error)")
            if let file { try r.output.write(to: folder.appendingPathComponent(file), atomically: true, encoding: .utf8) }
            return r
        }
        _ = try run(["pki", "init", "--dir", "pki", "--alg", "Ed25519"])
        _ = try run(["pki", "issue", "renshi", "--dir", "pki"])
        _ = try run(["pki", "issue", "xinsheng", "--dir", "pki"])
        let input = Self.root.appendingPathComponent("Fixtures/sc-traffic-xml/001-formats-example-gbk.xml").path
        _ = try run(["translate", input], into: "records.ndjson")
        _ = try run(
            ["sign", "--key", "pki/offices/renshi.key.pem", "--cert", "pki/offices/renshi.cert.pem", "--to", "xinsheng", "records.ndjson"],
            into: "envelopes.ndjson")
        let xinsheng = ["--key", "pki/offices/xinsheng.key.pem", "--cert", "pki/offices/xinsheng.cert.pem"]
        _ = try run(["receipt"] + xinsheng + ["envelopes.ndjson"], into: "accepted.ndjson")
        _ = try run(["receipt"] + xinsheng + ["--outcome", "rejected", "--reason", "digest-mismatch", "envelopes.ndjson"], into: "rejected.ndjson")

        let envelopes = Self.lines(try run(["verify", "--trust", "pki/ca.cert.pem", "envelopes.ndjson"]).output)
        #expect(!envelopes.isEmpty)
        let ids = envelopes.map { $0.split(separator: " ")[1] }
        #expect(envelopes == ids.map { "ok \($0)" })
        let accepted = Self.lines(try run(["verify", "--trust", "pki/ca.cert.pem", "accepted.ndjson"]).output)
        #expect(accepted == ids.map { "ok \($0) accepted" })
        let rejected = Self.lines(try run(["verify", "--trust", "pki/ca.cert.pem", "rejected.ndjson"]).output)
        #expect(rejected == ids.map { "ok \($0) rejected digest-mismatch" })
    }

    // MARK: item 11

    /// A copy of the fixtures of `mapping` in a fresh folder (`<folder>/Fixtures/<mapping>/`).
    static func fixtures(_ mapping: String, names: [String]) throws -> URL {
        let folder = try Self.folder()
        let target = folder.appendingPathComponent("Fixtures/\(mapping)")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let source = root.appendingPathComponent("Fixtures/\(mapping)")
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) where names.contains(where: file.hasPrefix) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
        }
        return folder
    }

    @Test func fixturesUpdateSaysWhatItChangesOrWould() throws {
        let folder = try Self.fixtures("cq-traffic-json", names: ["001-", "002-"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = folder.appendingPathComponent("Fixtures/cq-traffic-json/001-formats-example.expected.ndjson")
        let (original, edited) = try Self.edit(expected, "\"fineFen\":20000", "\"fineFen\":20001")

        let dry = try Self.xgw(["fixtures", "update", "--fixtures", "Fixtures", "--dry-run"], in: folder)
        #expect(dry.status == 0, "\(dry.error)")
        let dryLines = Self.lines(dry.output)
        #expect(dryLines.first == "~ cq-traffic-json/001-formats-example")
        #expect(dryLines.contains { $0.hasSuffix("/penalty/fineFen: expected 20001, actual 20000") })
        #expect(dryLines.contains { $0.hasPrefix("    would write Fixtures/cq-traffic-json/001-formats-example.expected.ndjson") })
        #expect(dryLines.last == "1 fixture(s) would change")
        #expect(try String(contentsOf: expected, encoding: .utf8) == edited)

        let update = try Self.xgw(["fixtures", "update", "--fixtures", "Fixtures"], in: folder)
        #expect(update.status == 0, "\(update.error)")
        #expect(Self.lines(update.output).contains { $0.hasPrefix("    wrote Fixtures/cq-traffic-json/001-formats-example.expected.ndjson") })
        #expect(Self.lines(update.output).last == "1 fixture(s) updated")
        #expect(try String(contentsOf: expected, encoding: .utf8) == original)

        let again = try Self.xgw(["fixtures", "update", "--fixtures", "Fixtures"], in: folder)
        #expect(Self.lines(again.output) == ["0 fixture(s) updated"])
    }

    // MARK: item 12

    /// `fixtures(…)` plus copies of Mappings/, seeds/ and docs/spec/: a copy of the checkout to change.
    static func checkoutCopy(_ mapping: String, names: [String]) throws -> URL {
        let folder = try fixtures(mapping, names: names)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("docs"), withIntermediateDirectories: true)
        for name in ["Mappings", "seeds", "docs/spec"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    @Test func theCurrentFolderWinsOverXGWHomeAndEveryCommandNamesItsFolders() throws {
        let copy = try Self.checkoutCopy("cq-traffic-json", names: ["001-"])
        defer { try? FileManager.default.removeItem(at: copy) }
        try Self.edit(copy.appendingPathComponent("Mappings/cq-traffic-json.yaml"), "{ ONSITE: site, CAMERA: camera }", "{ ONSITE: camera, CAMERA: site }")
        let home = ["XGW_HOME": Self.root.path]
        let c = copy.path

        // The copy's changed mapping is what is proved, not XGW_HOME's, and the first line says so.
        let test = try Self.xgw(["fixtures", "test"], in: copy, environment: home)
        #expect(test.status == 1, "\(test.output)")
        #expect(
            Self.lines(test.output).first
                == "using mappings \(c)/Mappings (current folder), seeds \(c)/seeds (current folder), fixtures \(c)/Fixtures (current folder)")
        #expect(test.output.contains("/capture"))
        // Beside a machine-readable report the folders go to standard error.
        let json = try Self.xgw(["fixtures", "test", "--reporter", "json", "--fixtures", "Fixtures"], in: copy, environment: home)
        #expect(json.output.hasPrefix("{"))
        #expect(json.error.contains("xgw: using mappings \(c)/Mappings (current folder)"))
        #expect(json.error.contains("fixtures \(c)/Fixtures (--fixtures)"))

        let lint = try Self.xgw(["mappings", "lint"], in: copy, environment: home)
        #expect(
            Self.lines(lint.output).first
                == "using mappings \(c)/Mappings (current folder), seeds \(c)/seeds (current folder), "
                + "schema \(c)/docs/spec/canonical.schema.json (current folder)")

        // Where the current folder has none, XGW_HOME is used, and named.
        let empty = try Self.folder()
        defer { try? FileManager.default.removeItem(at: empty) }
        let elsewhere = try Self.xgw(["mappings", "lint"], in: empty, environment: ["XGW_HOME": c])
        #expect(Self.lines(elsewhere.output).first?.hasPrefix("using mappings \(c)/Mappings (XGW_HOME), seeds \(c)/seeds (XGW_HOME)") == true)
        #expect(elsewhere.error.isEmpty)

        // XGW_HOME pointing nowhere is warned about.
        let nowhere = try Self.xgw(["mappings", "lint"], in: copy, environment: ["XGW_HOME": c + "/no-such-folder"])
        #expect(nowhere.error.contains("xgw: warning: XGW_HOME=\(c)/no-such-folder is not a folder"))
        #expect(nowhere.status == 0, "\(nowhere.output)")
    }

    @Test func serveNamesTheMappingsAndSeedsItRunsOn() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try await ServerProcess.start(data: data)
        defer { server.killNow() }
        let r = Self.root.path
        #expect(server.stdout.contains("xgw: using mappings \(r)/Mappings (current folder), seeds \(r)/seeds (current folder)\n"))
    }

    // MARK: item 13

    /// The problems `fixtures test --reporter json` lists for each fixture id.
    static func problems(_ run: ToolRun) throws -> [String: [String]] {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let fixtures = try #require(report["fixtures"] as? [[String: Any]])
        var out: [String: [String]] = [:]
        for f in fixtures { out[f["id"] as? String ?? "?"] = f["problems"] as? [String] ?? [] }
        return out
    }

    @Test func oneRejectedRecordInABatchIsOneProblemNotACascade() throws {
        let folder = try Self.fixtures("cq-traffic-json", names: ["002-"])
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.edit(folder.appendingPathComponent("Fixtures/cq-traffic-json/002-batch-three.json"), "\"plateNo\": \"渝A·12345\"", "\"plateNo\": \"渝A\"")

        let run = try Self.xgw(["fixtures", "test", "--fixtures", "Fixtures", "--reporter", "json"], in: folder)
        #expect(run.status == 1)
        let problems = try #require(try Self.problems(run)["cq-traffic-json/002-batch-three"])
        // The second record is missing because it was rejected; the third still matches.
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.first?.hasPrefix("record cq-traffic:CQ5001552023071100102: expected, got none (rejected at index 1: ") == true)
        #expect(problems.first?.contains("invalid-plate") == true)
        #expect(problems.last?.hasPrefix("rejection (index 1): not expected, record cq-traffic:CQ5001552023071100102, ") == true)

        // Expecting that rejection makes the fixture pass: rejections align by index, not position.
        let rejections = folder.appendingPathComponent("Fixtures/cq-traffic-json/002-batch-three.rejections.ndjson")
        try #"{"errors":[{"code":"invalid-plate","path":"/vehicle/plate","source":"/records/1/vehicle/plateNo"}],"index":1,"recordId":"cq-traffic:CQ5001552023071100102"}"#
            .appending("\n").write(to: rejections, atomically: true, encoding: .utf8)
        let expected = folder.appendingPathComponent("Fixtures/cq-traffic-json/002-batch-three.expected.ndjson")
        let records = Self.lines(try String(contentsOf: expected, encoding: .utf8))
        try ([records[0], records[2]].joined(separator: "\n") + "\n").write(to: expected, atomically: true, encoding: .utf8)
        let fixed = try Self.xgw(["fixtures", "test", "--fixtures", "Fixtures", "--reporter", "json"], in: folder)
        #expect(fixed.status == 0, "\(fixed.output)")
    }

    // MARK: item 14

    @Test func lintNamesOnlyTheBrokenFileAndFixturesTestFailsOnBadRoutes() throws {
        let copy = try Self.checkoutCopy("cq-traffic-json", names: ["001-"])
        defer { try? FileManager.default.removeItem(at: copy) }
        let c = copy.path
        let mapping = copy.appendingPathComponent("Mappings/cq-case-xml.yaml")
        let (text, _) = try Self.edit(mapping, "kind: enforcement-case", "kind: [enforcement-case")
        let lint = try Self.xgw(["mappings", "lint"], in: copy)
        #expect(lint.status == 1)
        let problems = Self.lines(lint.output).dropFirst().dropLast()
        #expect(problems.count == 1, "\(lint.output)")
        #expect(problems.first?.hasPrefix("Mappings/cq-case-xml.yaml:") == true)
        #expect(!lint.output.contains("routes.yaml"))
        try text.write(to: mapping, atomically: true, encoding: .utf8)

        // A route naming no participant: lint and fixtures test both fail, naming routes.yaml.
        try Self.edit(copy.appendingPathComponent("Mappings/routes.yaml"), "to: [xinsheng]", "to: [xinshen]")
        #expect(try Self.xgw(["mappings", "lint"], in: copy).output.contains("routes.yaml"))
        let test = try Self.xgw(["fixtures", "test"], in: copy)
        #expect(test.status == 1, "\(test.output)")
        #expect(test.output.contains("✗ Mappings/routes.yaml"))
        #expect(test.output.contains("\(c)/Mappings/routes.yaml:") || test.output.contains("Mappings/routes.yaml:"))
        #expect(test.output.contains("'xinshen' is not a participant"))
        #expect(test.output.hasSuffix("1 passed, 1 failed\n"))
    }

    // MARK: item 16

    @Test func unknownMappingsAndCommandsGetTheListAndASuggestion() throws {
        let input = Self.root.appendingPathComponent("Fixtures/cq-traffic-json/001-formats-example.json").path
        let mapping = try Self.xgw(["translate", "--mapping", "cq-trafic-json", input])
        #expect(mapping.status == 64)
        #expect(mapping.error.contains("no mapping 'cq-trafic-json'"))
        #expect(mapping.error.contains("did you mean 'cq-traffic-json'?"))
        #expect(mapping.error.contains("sc-bulletin-xml"))
        let truncated = try Self.xgw(["translate", "--mapping", "cq-trafic", input])
        #expect(truncated.error.contains("did you mean 'cq-traffic-json'?"))

        let command = try Self.xgw(["fixture", "test"])
        #expect(command.status == 64)
        #expect(command.error.contains("xgw: unknown command 'fixture'; did you mean 'fixtures'?"))
        let sub = try Self.xgw(["mappings", "lnt"])
        #expect(sub.status == 64)
        #expect(sub.error.contains("xgw mappings: unknown command 'lnt'; did you mean 'lint'? (one of: coverage, lint)"))
    }

    @Test func aForcedMappingOfTheOtherSyntaxSaysSo() throws {
        let xml = Self.root.appendingPathComponent("Fixtures/sc-traffic-xml/001-formats-example-gbk.xml").path
        for extra in [[], ["--stream"]] {
            let r = try Self.xgw(["translate", "--mapping", "cq-traffic-json"] + extra + [xml])
            #expect(r.status == 65)
            #expect(r.output.isEmpty)
            #expect(r.error.contains("the document is XML and mapping 'cq-traffic-json' reads JSON"), "\(r.error)")
            #expect(r.error.contains("\"code\":\"unknown-format\""))
        }
        let json = Self.root.appendingPathComponent("Fixtures/cq-traffic-json/001-formats-example.json").path
        let r = try Self.xgw(["translate", "--mapping", "sc-traffic-xml", json])
        #expect(r.error.contains("the document is JSON and mapping 'sc-traffic-xml' reads XML"), "\(r.error)")
    }

    @Test func aLargeFileOnATerminalEndsWithASummaryLine() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let xgw = try TestBinary.url("xgw").path
        let input = Self.root.appendingPathComponent("Fixtures/sc-traffic-xml/001-formats-example-gbk.xml").path
        /// Standard error on a pseudo-terminal (script(1)), standard output into a file.
        func onTerminal(_ arguments: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qec", "'\(xgw)' translate \(arguments) '\(input)' > '\(folder.path)/out.ndjson'", "/dev/null"]
            process.currentDirectoryURL = Self.root
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let streamed = try onTerminal("--stream")
        #expect(streamed.contains("\(input): 1 record translated, 0 rejected (sc-traffic-xml) in "), "\(streamed)")
        #expect(Self.lines(try String(contentsOfFile: folder.path + "/out.ndjson", encoding: .utf8)).count == 1)
        // A small file is not "large": no line; nor is there one when standard error is no terminal.
        #expect(!(try onTerminal("")).contains("translated"))
        let piped = try Self.xgw(["translate", "--stream", input])
        #expect(piped.status == 0 && piped.error.isEmpty)
    }

    @Test func aBusyPortIsNamedNotAnErrno() async throws {
        let data = try ServerProcess.temporaryDirectory()
        let other = try ServerProcess.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: other)
        }
        let server = try await ServerProcess.start(data: data)
        defer { server.killNow() }
        let second = try Self.xgw(["serve"], environment: ["XGW_PORT": "\(server.port)", "XGW_DATA": other.path])
        #expect(second.status == 78)
        #expect(second.error.contains("cannot listen on 127.0.0.1 port \(server.port): the port is already in use"), "\(second.error)")
        #expect(!second.error.contains("errno"))
    }
}

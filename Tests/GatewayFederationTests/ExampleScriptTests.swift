import Foundation
import GatewayModel
import TestSupport
import Testing

/// `examples/federation/setup.sh` run as a newcomer runs it (issue 13 item 8), with `XGW` set to the
/// `xgw` built beside the tests: the key ceremony with requests, both nodes started from their
/// node.yaml, their `/healthz`, `check-keys`, `stop`.
///
/// And the printed curl lines end to end: the submission at renshi-node reaches xinsheng's inbox at
/// xinsheng-node, the ack there makes a receipt that comes back to renshi-node's `GET /v1/receipts`.
@Suite struct ExampleScriptTests {
    static let script = TestBinary.repositoryRoot.appendingPathComponent("examples/federation/setup.sh")

    /// `bash setup.sh SUBCOMMAND` with `environment` added; standard output and error together.
    static func script(_ subcommand: String, _ environment: [String: String]) throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-example-\(UUID().uuidString).out")
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else { throw TestFailure("cannot create \(output.path)") }
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, subcommand]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Foundation sees the end of its child when every holder of an inherited descriptor has gone: a
        // node started by `start` that kept one would make this wait for the node (the script closes them).
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            throw TestFailure("setup.sh \(subcommand) has not ended after 120 s (a node kept a descriptor of the script?)")
        }
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }

    /// `NAME=value` lines of a file the script wrote.
    static func variables(_ file: URL) throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    @Test func setsUpAndStartsTheTwoNodeAllianceWhereEachNodeHoldsOnlyItsOwnKeys() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-example-\(UUID().uuidString)")
        // Four distinct ports below Linux's ephemeral range (32768-60999), where the other tests' port 0 lands.
        var ports = Set<Int>()
        while ports.count < 4 { ports.insert(Int.random(in: 20_000..<32_000)) }
        let port = Array(ports)
        let environment = [
            "XGW": try TestBinary.url("xgw").path, "XGW_EXAMPLE_DIR": work.path,
            "RENSHI_PORT": "\(port[0])", "RENSHI_FEDERATION_PORT": "\(port[1])",
            "XINSHENG_PORT": "\(port[2])", "XINSHENG_FEDERATION_PORT": "\(port[3])",
        ]
        defer {
            _ = try? Self.script("stop", environment)
            try? FileManager.default.removeItem(at: work)
        }
        let setup = try Self.script("setup", environment)
        try #require(setup.status == 0, "\(setup.output)")
        let fm = FileManager.default
        // Each node made its own keys; the alliance issued certificates from the requests alone.
        #expect(fm.fileExists(atPath: work.path + "/renshi-node/pki/offices/renshi.key.pem"))
        #expect(fm.fileExists(atPath: work.path + "/renshi-node/pki/offices/renshi.cert.pem"))
        #expect(fm.fileExists(atPath: work.path + "/xinsheng-node/pki/nodes/xinsheng-node.key.pem"))
        #expect(!fm.fileExists(atPath: work.path + "/renshi-node/pki/ca.key.pem"))
        let requests = try fm.contentsOfDirectory(atPath: work.path + "/alliance/requests/renshi-node")
        #expect(Set(requests) == Set(["renshi", "kaijiang", "kaijiang-renshi", "dachuan", "renshi-node"].flatMap { ["\($0).csr.pem", "\($0).cert.pem"] }))

        let start = try Self.script("start", environment)
        try #require(start.status == 0, "\(start.output)")
        for (node, apiPort) in [("renshi-node", port[0]), ("xinsheng-node", port[2])] {
            let health = try await HTTPClient(port: apiPort).call("GET", "/healthz")
            #expect(health.status == 200, "\(health.text)")
            #expect(health.json?["node"] == .string(node), "\(health.text)")
            #expect(health.json?["directorySerial"]?.numberValue?.intValue == 1)
            #expect(health.json?["directoryStale"] == false)
        }
        // The tokens each node printed on its first start: its own participants and its ops only.
        let tokens = try Self.variables(work.appendingPathComponent("env.sh"))
        #expect(Set(tokens.keys) == [
            "RENSHI_NODE", "RENSHI", "KAIJIANG", "DACHUAN", "KAIJIANG_RENSHI", "RENSHI_NODE_OPS",
            "XINSHENG_NODE", "XINSHENG", "LIANGPING", "LIANGPING_XINSHENG", "XINSHENG_NODE_OPS",
        ], "\(start.output)")
        #expect(start.output.contains("/v1/receipts"))
        let renshiNode = HTTPClient(port: port[0])
        let own = try await renshiNode.call("POST", "/v1/inbox/lease", token: tokens["RENSHI"], json: ["max": 1])
        #expect(own.status == 200, "\(own.text)")
        let foreign = try await renshiNode.call("POST", "/v1/inbox/lease", token: tokens["XINSHENG"], json: ["max": 1])
        #expect(foreign.status == 401, "xinsheng's token is xinsheng-node's: \(foreign.text)")
        // The printed curl lines: submitted at renshi-node, leased and acked by xinsheng at xinsheng-node,
        // the receipt back at renshi-node.
        let submitted = try await renshiNode.call(
            "POST", "/v1/documents", token: tokens["RENSHI"], body: try fixture("sc-traffic-xml/001-formats-example-gbk.xml"))
        #expect(submitted.status == 200, "\(submitted.text)")
        #expect(submitted.json?["accepted"]?.numberValue?.intValue == 1, "\(submitted.text)")
        let xinshengNode = HTTPClient(port: port[2])
        var leased: [JSONValue] = []
        let deadline = Date().addingTimeInterval(60)
        while leased.isEmpty && Date() < deadline {
            leased = try await xinshengNode.call("POST", "/v1/inbox/lease", token: tokens["XINSHENG"], json: ["max": 10])
                .json?["messages"]?.arrayValue ?? []
            if leased.isEmpty { try await Task.sleep(for: .milliseconds(250)) }
        }
        try #require(leased.count == 1, "the envelope never reached xinsheng-node")
        #expect(leased[0]["envelope"]?["envelope"]?["from"] == "renshi")
        let acked = try await xinshengNode.call(
            "POST", "/v1/inbox/\(leased[0]["envelopeId"]!.stringValue!)/ack", token: tokens["XINSHENG"],
            json: ["leaseToken": leased[0]["leaseToken"]!, "outcome": "accepted"])
        #expect(acked.status == 200, "\(acked.text)")
        var receipts: [JSONValue] = []
        while receipts.isEmpty && Date() < deadline {
            receipts = try await renshiNode.call("GET", "/v1/receipts", token: tokens["RENSHI"]).json?["receipts"]?.arrayValue ?? []
            if receipts.isEmpty { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(receipts.count == 1, "the receipt never came back to renshi-node")
        #expect(receipts.first?["receipt"]?["receipt"]?["by"] == "xinsheng")
        let peers = try await renshiNode.call("GET", "/v1/ops/peers", token: tokens["RENSHI_NODE_OPS"])
        #expect(peers.json?["peers"]?["xinsheng-node"]?["outboxDepth"]?.numberValue?.intValue == 0, "\(peers.text)")

        let keys = try Self.script("check-keys", environment)
        #expect(keys.status == 0, "\(keys.output)")
        #expect(keys.output.contains("pki/offices/dachuan.key.pem"), "alliance members are keyed at their province's node: \(keys.output)")
        #expect(keys.output.contains("each node holds only its own participants' keys"), "\(keys.output)")

        let pids = try ["renshi-node", "xinsheng-node"].map { node in
            try #require(Int32(String(contentsOfFile: work.path + "/\(node)/xgw.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let stop = try Self.script("stop", environment)
        #expect(stop.status == 0, "\(stop.output)")
        for pid in pids { #expect(kill(pid, 0) != 0, "node \(pid) still runs after stop") }

        // check-keys fails on a key where it does not belong: another node's participant's, a root's.
        try fm.copyItem(atPath: work.path + "/xinsheng-node/pki/offices/xinsheng.key.pem", toPath: work.path + "/renshi-node/pki/offices/xinsheng.key.pem")
        try fm.createDirectory(atPath: work.path + "/renshi-node/backup", withIntermediateDirectories: true)
        try fm.copyItem(atPath: work.path + "/alliance/pki/ca.key.pem", toPath: work.path + "/renshi-node/backup/root.pem")
        let misplaced = try Self.script("check-keys", environment)
        #expect(misplaced.status == 1, "\(misplaced.output)")
        #expect(misplaced.output.contains("FOREIGN: signing key of xinsheng, which renshi-node does not host"), "\(misplaced.output)")
        #expect(misplaced.output.contains("ON A NODE: the same key as renshi-node/backup/root.pem"), "\(misplaced.output)")
    }
}

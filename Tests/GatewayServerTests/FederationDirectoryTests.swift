import Foundation
import GatewayModel
import GatewayServer
import Testing
import TestSupport

/// Distribution of the directory between nodes (federation.md, "Distribution"; issue 13 item 2):
/// a node asks its peers for their directory every `directoryPollSeconds` and adopts a newer valid
/// one, keeping the adopted copy in its data folder.
@Suite struct FederationDirectoryTests {
    @Test func aNodeAdoptsTheNewerDirectoryItsPeerServes() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let ports = ["renshi-node": try freePort(), "xinsheng-node": try freePort()]
        let urls = ports.mapValues { "https://127.0.0.1:\($0)" }
        var servers: [String: ServerProcess] = [:]
        defer { for server in servers.values { server.killNow() } }
        var files: [String: String] = [:]
        for node in ["renshi-node", "xinsheng-node"] {
            try alliance.nodePKI(node)
            files[node] = try alliance.writeDirectory(try alliance.directory(serial: 7, urls: urls), node: node)
            let config = alliance.folder.appendingPathComponent("\(node).yaml").path
            try alliance.configuration(node: node, directory: files[node]!, federationPort: ports[node]!, pollSeconds: 1)
                .write(toFile: config, atomically: true, encoding: .utf8)
            let data = alliance.folder.appendingPathComponent("\(node)-data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            servers[node] = try await ServerProcess.start(data: data, arguments: ["--config", config])
        }
        func serial(_ node: String) async throws -> Int? {
            try await HTTPClient(port: servers[node]!.port).call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue
        }
        #expect(try await serial("xinsheng-node") == 7)
        // Serial 8 reaches renshi-node's file only; xinsheng-node gets it from renshi-node.
        try alliance.writeDirectory(try alliance.directory(serial: 8, urls: urls), node: "renshi-node")
        // Generous (the poll is every second): a full parallel test run on two cores delays both nodes.
        let deadline = Date().addingTimeInterval(90)
        var seen: Int?
        repeat {
            try await Task.sleep(for: .milliseconds(300))
            seen = try await serial("xinsheng-node")
        } while seen != 8 && Date() < deadline
        #expect(seen == 8, "\(servers["xinsheng-node"]!.log.suffix(3000))")
        // The node publishes the serial before it writes its copy and logs the adoption: wait for the line.
        while !servers["xinsheng-node"]!.log.contains("adopted a directory") && Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(servers["xinsheng-node"]!.log.contains("adopted a directory"))
        // The adopted copy is kept in xinsheng-node's data folder for its next start.
        let copy = alliance.folder.appendingPathComponent("xinsheng-node-data/directory.json")
        let kept = try JSONParser.parse(Array(try Data(contentsOf: copy)))
        #expect(kept["directory"]?["serial"]?.numberValue?.intValue == 8)
        // A lower serial in renshi-node's file is refused there; both keep 8 (a lower one is never adopted).
        try alliance.writeDirectory(try alliance.directory(serial: 6, urls: urls), node: "renshi-node")
        try await Task.sleep(for: .seconds(3))
        #expect(try await serial("xinsheng-node") == 8)
    }
}

import Foundation
import GatewayModel
import GatewayServer
import GatewaySigning
import TestSupport
import Testing

/// `xgw serve` with a `node` section (federation.md, "Node configuration"; issue 13 item 3): real
/// roots, keys and node certificates from `PKIDirectory`, a directory signed by the alliance root.
@Suite struct NodeModeTests {
    static let renshiHosts = NodeAlliance.hosts["renshi-node"]!

    /// renshi-node's gateway on a fresh data folder, with `directory` as its directory file.
    static func gateway(_ alliance: NodeAlliance, directory: String, hosts: [String]? = nil) throws -> APIGateway {
        try APIGateway.temporary { data in
            let file = data.appendingPathComponent("node.yaml").path
            try alliance.configuration(directory: directory, hosts: hosts).write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    /// What building renshi-node's application refuses with, or nil when it starts.
    static func refusal(_ gateway: APIGateway) -> String? {
        do {
            _ = try buildApplication(configuration: gateway.configuration, logger: .init(label: "xgw"))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aNodeWithAValidDirectoryStartsWithTokensAndKeysOnlyForItsHostedParticipants() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let pki = try alliance.nodePKI("renshi-node")
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        let gateway = try Self.gateway(alliance, directory: file, hosts: Self.renshiHosts)
        defer { gateway.remove() }
        try await gateway.run { client, gw in
            #expect(Set(gw.tokensByName.keys) == Set(Self.renshiHosts + ["ops"]))
            let health = try await client.call("GET", "/healthz")
            #expect(health.json?["node"] == "renshi-node")
            #expect(health.json?["directorySerial"]?.numberValue?.intValue == 7)
            #expect(health.json?["directoryStale"] == false)
            let metrics = try await client.call("GET", "/metrics")
            #expect(metrics.text.contains("xgw_federation_directory_serial 7"), "\(metrics.text)")
            #expect(metrics.text.contains("xgw_federation_directory_stale 0"))
            // xinsheng is hosted by xinsheng-node: the record is queued for it (the forwarder comes next).
            let renshi = try #require(gw.tokensByName["renshi"])
            let submitted = try await client.call("POST", "/v1/documents", token: renshi, body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
            #expect(submitted.status == 200, "\(submitted.text)")
            #expect(submitted.json?["accepted"]?.numberValue?.intValue == 3)
        }
        // No root key and no key of another node's participant was created on the node.
        #expect(!FileManager.default.fileExists(atPath: pki.caKeyPath))
        let offices = try FileManager.default.contentsOfDirectory(atPath: pki.officesDirectory).filter { $0.hasSuffix(".key.pem") }
        #expect(Set(offices) == Set(Self.renshiHosts.map { "\($0).key.pem" }))
        // The adopted copy is kept in the data folder.
        #expect(try SignedDirectoryBytes.serial(of: gateway.data.path + "/directory.json") == 7)
    }

    @Test func tokensKeptFromAOneNodeStartOpenNothingForParticipantsTheNodeDoesNotHost() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        let oneNode = try APIGateway.temporary()
        defer { oneNode.remove() }
        let tokens = try await oneNode.run { _, gw in gw.tokensByName }
        let config = oneNode.data.appendingPathComponent("node.yaml").path
        try alliance.configuration(directory: file).write(toFile: config, atomically: true, encoding: .utf8)
        let node = try APIGateway(data: oneNode.data, file: config)
        try await node.run { client, gw in
            #expect(gw.createdTokens.isEmpty)
            let xinsheng = try await client.call("POST", "/v1/inbox/lease", token: try #require(tokens["xinsheng"]), json: ["max": 1])
            #expect(xinsheng.status == 401, "\(xinsheng.text)")
            let renshi = try await client.call("POST", "/v1/inbox/lease", token: try #require(tokens["renshi"]), json: ["max": 1])
            #expect(renshi.status == 200, "\(renshi.text)")
        }
    }

    @Test func aDirectoryPastItsNextUpdateStillAppliesAndIsReportedStale() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        let file = try alliance.writeDirectory(
            try alliance.directory(serial: 4, days: 1, issuedAt: Date().addingTimeInterval(-2 * 86_400)))
        let gateway = try Self.gateway(alliance, directory: file)
        defer { gateway.remove() }
        try await gateway.run { client, _ in
            let health = try await client.call("GET", "/healthz")
            #expect(health.json?["directorySerial"]?.numberValue?.intValue == 4)
            #expect(health.json?["directoryStale"] == true, "\(health.text)")
            #expect(try await client.call("GET", "/metrics").text.contains("xgw_federation_directory_stale 1"))
        }
        #expect(gateway.log.text.contains("past its nextUpdate"))
    }

    @Test func aDestinationThatNoNodeHostsIsRejectedNoRouteAndNotQueued() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        var hosts = NodeAlliance.hosts
        hosts["xinsheng-node"] = ["liangping", "liangping-xinsheng"]  // xinsheng: on no node
        let file = try alliance.writeDirectory(try alliance.directory(serial: 3, hosts: hosts))
        let gateway = try Self.gateway(alliance, directory: file)
        defer { gateway.remove() }
        try await gateway.run { client, gw in
            let renshi = try #require(gw.tokensByName["renshi"])
            let answer = try await client.call("POST", "/v1/documents", token: renshi, body: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"))
            #expect(answer.status == 422, "\(answer.text)")
            let records = answer.json?["records"]?.arrayValue ?? []
            #expect(records.count == 3)
            for record in records {
                #expect(record["errors"]?.arrayValue?.first?["code"] == "no-route", "\(record)")
            }
            let ops = try #require(gw.tokensByName["ops"])
            let queues = try await client.call("GET", "/v1/ops/queues", token: ops)
            let xinsheng = queues.json?["queues"]?.arrayValue?.first { $0["participant"] == "xinsheng" }
            #expect(xinsheng?["queued"]?.numberValue?.intValue == 0, "nothing was queued: \(queues.text)")
        }
    }

    @Test func aKeyOfAnotherNodesParticipantRefusesTheStartNamingTheFileAndParticipant() throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let pki = try alliance.nodePKI("renshi-node", participants: Self.renshiHosts + ["xinsheng"])
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        let gateway = try Self.gateway(alliance, directory: file)
        defer { gateway.remove() }
        let refusal = try #require(Self.refusal(gateway))
        #expect(refusal.contains(pki.officeKeyPath("xinsheng")), "\(refusal)")
        #expect(refusal.contains("foreign-key") && refusal.contains("xinsheng-node"), "\(refusal)")
        #expect(refusal.contains(file))
    }

    @Test func aMissingKeyOfAHostedParticipantRefusesTheStartNamingTheFile() throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let pki = try alliance.nodePKI("renshi-node", participants: ["renshi", "kaijiang", "kaijiang-renshi"])
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        let gateway = try Self.gateway(alliance, directory: file)
        defer { gateway.remove() }
        let refusal = try #require(Self.refusal(gateway))
        #expect(refusal.contains(pki.officeKeyPath("dachuan")), "\(refusal)")
        #expect(!FileManager.default.fileExists(atPath: pki.officeKeyPath("dachuan")), "a node never creates a key")
    }

    @Test func configuredHostsThatDifferFromTheDirectoryRefuseTheStart() throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        let gateway = try Self.gateway(alliance, directory: file, hosts: ["renshi", "kaijiang"])
        defer { gateway.remove() }
        let refusal = try #require(Self.refusal(gateway))
        #expect(refusal.contains("hosts"), "\(refusal)")
    }

    @Test func aDirectoryNotSignedByTheRootRefusesTheStart() throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-other-root-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: other) }
        let otherRoot = try PKIDirectory.initialize(at: other, algorithm: .es256, commonName: "another root", days: 30)
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7, signer: otherRoot))
        let gateway = try Self.gateway(alliance, directory: file)
        defer { gateway.remove() }
        let refusal = try #require(Self.refusal(gateway))
        #expect(refusal.contains(file), "\(refusal)")
        #expect(!FileManager.default.fileExists(atPath: gateway.data.path + "/directory.json"))
    }

    @Test func aLowerSerialFileNextToAHigherAdoptedCopyStartsWithTheAdoptedCopy() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        let file = try alliance.writeDirectory(try alliance.directory(serial: 5))
        let gateway = try Self.gateway(alliance, directory: file)
        defer { gateway.remove() }
        try Data(try alliance.directory(serial: 9)).write(to: gateway.data.appendingPathComponent("directory.json"))
        try await gateway.run { client, _ in
            let health = try await client.call("GET", "/healthz")
            #expect(health.json?["directorySerial"]?.numberValue?.intValue == 9, "\(health.text)")
        }
        #expect(gateway.log.text.contains("the adopted directory is newer than the directory file"))
    }

    @Test func aNewerValidDirectoryWrittenWhileRunningIsAdoptedAndARefusedOneIsNot() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        let gateway = try Self.gateway(alliance, directory: file)
        defer { gateway.remove() }
        try await gateway.run(.live) { client, _ in
            func serial() async throws -> Int? {
                try await client.call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue
            }
            #expect(try await serial() == 7)
            try alliance.writeDirectory(try alliance.directory(serial: 8))
            // Polls are generous (90 s): a full parallel test run on two cores delays the node's look at its file.
            let deadline = Date().addingTimeInterval(90)
            while try await serial() != 8, Date() < deadline { try await Task.sleep(for: .milliseconds(250)) }
            #expect(try await serial() == 8)
            let adopted = try SignedDirectoryBytes.serial(of: gateway.data.path + "/directory.json")
            #expect(adopted == 8)
            // A higher serial that gives renshi away is refused: serial 8 stays, and the log says why.
            var hosts = NodeAlliance.hosts
            hosts["renshi-node"] = ["kaijiang", "kaijiang-renshi", "dachuan"]
            hosts["xinsheng-node"] = ["xinsheng", "liangping", "liangping-xinsheng", "renshi"]
            try alliance.writeDirectory(try alliance.directory(serial: 9, hosts: hosts))
            let waitUntil = Date().addingTimeInterval(90)
            while !gateway.log.text.contains("a directory is refused"), Date() < waitUntil { try await Task.sleep(for: .milliseconds(250)) }
            #expect(gateway.log.text.contains("foreign-key"), "\(gateway.log.text.suffix(2000))")
            #expect(try await serial() == 8)
        }
    }

    @Test func sighupReadsTheDirectoryFileAndTheNodeKeepsRunning() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        try alliance.nodePKI("renshi-node")
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        // A whole second, which setting the time again gives back exactly.
        let stamp = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 60).rounded(.down))
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: file)
        let config = alliance.folder.appendingPathComponent("renshi-node.yaml").path
        try alliance.configuration(directory: file).write(toFile: config, atomically: true, encoding: .utf8)
        let data = alliance.folder.appendingPathComponent("renshi-data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let server = try await ServerProcess.start(data: data, arguments: ["--config", config])
        defer { server.killNow() }
        let client = HTTPClient(port: server.port)
        #expect(try await client.call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue == 7)
        // A newer file with the old modification time: only SIGHUP makes the node read it.
        try alliance.writeDirectory(try alliance.directory(serial: 8))
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: file)
        try await Task.sleep(for: .seconds(3))
        #expect(try await client.call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue == 7)
        kill(server.process.processIdentifier, SIGHUP)
        let deadline = Date().addingTimeInterval(90)
        var serial: Int?
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            serial = try await client.call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue
        } while serial != 8 && Date() < deadline && server.process.isRunning
        #expect(server.process.isRunning, "SIGHUP must not stop a node: \(server.log.suffix(2000))")
        #expect(serial == 8, "\(server.log.suffix(2000))")
    }

    @Test func xgwServeExitsWithAConfigurationErrorNamingTheFileAndParticipant() throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let pki = try alliance.nodePKI("renshi-node", participants: Self.renshiHosts + ["liangping"])
        let file = try alliance.writeDirectory(try alliance.directory(serial: 7))
        let config = alliance.folder.appendingPathComponent("renshi-node.yaml").path
        try alliance.configuration(directory: file).write(toFile: config, atomically: true, encoding: .utf8)
        let run = try TestBinary.run(
            "xgw", ["serve", "--config", config],
            environment: ["XGW_DATA": alliance.folder.appendingPathComponent("renshi-data").path, "XGW_PORT": "0"])
        let text = run.error
        #expect(run.status == 78, "\(text)")
        #expect(text.contains(pki.officeKeyPath("liangping")) && text.contains("liangping"), "\(text)")
        #expect(!text.contains("listening"))
    }
}

/// The serial of a signed directory file.
enum SignedDirectoryBytes {
    static func serial(of path: String) throws -> Int? {
        let bytes = try #require(FileManager.default.contents(atPath: path))
        return try JSONParser.parse([UInt8](bytes))["directory"]?["serial"]?.numberValue?.intValue
    }
}

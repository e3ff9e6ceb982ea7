import Foundation
import GatewayMapping
import GatewayModel
import GatewayServer
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import TestSupport
import Testing

/// The connectors of issue 14 item 5 end to end: a real `xgw serve` (child process) whose
/// configuration gives a participant a file drop or an HTTP push, documents submitted through the
/// API, and the office's side as a real folder or a real HTTP receiver on loopback.
@Suite(.serialized)
struct ConnectorTests {
    static let environment = ["XGW_ALGORITHM": "ES256"]

    /// A configuration file in `folder`: `participant` gets `formats` (kind → format) and the
    /// connector given as YAML (the lines under `connector:`); quick retries.
    static func configuration(
        in folder: URL, participant: String, formats: [String: String], connector: String, maxDeliveries: Int = 10
    ) throws -> String {
        let formatLines = formats.sorted { $0.key < $1.key }.map { "        \($0.key): \($0.value)" }.joined(separator: "\n")
        let text = """
            retry: { baseDelaySeconds: 0.2, maxDelaySeconds: 0.5, maxDeliveries: \(maxDeliveries) }
            participants:
              \(participant):
                delivery:
                  formats:
            \(formatLines)
                  connector:
            \(connector.split(separator: "\n").map { "          " + $0 }.joined(separator: "\n"))

            """
        let path = folder.appendingPathComponent("xgw.yaml")
        try text.write(to: path, atomically: true, encoding: .utf8)
        return path.path
    }

    /// `<folder>/data`, created (the server's log goes there from the start).
    static func data(in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let translator: Translator = {
        let root = TestBinary.repositoryRoot
        return try! Translator.load(
            mappingsDirectory: root.appendingPathComponent("Mappings").path, seedsDirectory: root.appendingPathComponent("seeds").path)
    }()

    /// The canonical records of a document (its rejections fail the test).
    static func records(_ bytes: [UInt8], mapping: String? = nil) -> [JSONValue] {
        var out: [JSONValue] = []
        _ = translator.translate(bytes, mappingID: mapping) { outcome in
            switch outcome {
            case .translated(_, let record, _): out.append(record)
            case .rejected(let r, _): Issue.record("rejected: \(r.errors.map(\.description))")
            }
        }
        return out
    }

    /// Waits (generously: the whole suite may run on a loaded machine) until `condition` holds.
    static func eventually(_ what: String, seconds: Double = 120, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("not within \(Int(seconds)) s: \(what)")
    }

    /// Submits one Chongqing traffic record as xinsheng (routed to renshi) and waits for renshi's
    /// first dead letter: the envelope id and the dead letter.
    static func submitOneUntilDead(_ client: HTTPClient, xinsheng: String, ops: String, tag: String) async throws -> (String, JSONValue?) {
        let submitted = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: tag, count: 1))
        let id = try #require(submitted.json?["records"]?.arrayValue?.first?["envelopeId"]?.stringValue)
        var dead: JSONValue?
        try await eventually("a dead letter for renshi") {
            dead = try await client.call("GET", "/v1/ops/dead-letters?participant=renshi", token: ops).json?["deadLetters"]?.arrayValue?.first
            return dead != nil
        }
        return (id, dead)
    }

    /// The receipts of what `submitter` sent (the `receipts` member of `GET /v1/receipts`).
    static func receipts(_ client: HTTPClient, token: String) async throws -> [JSONValue] {
        try await client.call("GET", "/v1/receipts", token: token).json?["receipts"]?.arrayValue ?? []
    }

    /// `connector:` as `xgw serve --config` reads it: one of the two kinds, every key checked and
    /// named by its whole path.
    @Test(arguments: [
        ("fileDrop: { folder: /srv/drop }\nhttpPush: { url: \"http://127.0.0.1:9/in\" }", "participants.renshi.delivery.connector: exactly one of fileDrop and httpPush"),
        ("{}", "participants.renshi.delivery.connector: exactly one of fileDrop and httpPush"),
        ("fileDrop: { folder: /srv/drop, mode: 644 }", "unknown key 'participants.renshi.delivery.connector.fileDrop.mode'"),
        ("httpPush: { url: \"ftp://office/in\" }", "participants.renshi.delivery.connector.httpPush.url must be an http:// or https:// URL"),
        ("httpPush: { url: \"http://office/in\", timeout: 0 }", "participants.renshi.delivery.connector.httpPush.timeout must be in (0, 3600]"),
        ("httpPush: { url: \"http://office/in\", headers: { Idempotency-Key: x } }", "participants.renshi.delivery.connector.httpPush.headers: Idempotency-Key is set by the connector"),
    ])
    func aWrongConnectorIsRefusedNamingTheKey(connector: String, message: String) throws {
        let folder = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try Self.configuration(in: folder, participant: "renshi", formats: [:], connector: connector)
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: file, environment: [:]) }
        do {
            _ = try ServerConfiguration.load(file: file, environment: [:])
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func anHTTPPushConnectorIsReadWithItsHeadersAndTimeout() throws {
        let folder = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try Self.configuration(
            in: folder, participant: "xinsheng", formats: ["traffic-violation": "cq-traffic-json"],
            connector: "httpPush:\n  url: https://office.example/xgw?k=1\n  headers: { Authorization: Bearer s }\n  timeout: 12.5")
        let configuration = try ServerConfiguration.load(file: file, environment: [:])
        let connector = try #require(configuration.participants["xinsheng"]?.delivery.connector)
        #expect(connector == .httpPush(.init(url: "https://office.example/xgw?k=1", headers: ["Authorization": "Bearer s"], timeoutSeconds: 12.5)))
        #expect(connector.target == "https://office.example/xgw", "no query in logs and dead letters")
        #expect(configuration.participants["xinsheng"]?.delivery.formats == ["traffic-violation": "cq-traffic-json"])
    }

    /// A Sichuan traffic batch submitted at 任市 lands at 新盛 as one `cq-traffic-json` document per
    /// envelope in the drop folder, named by envelope id, each translating back to the record sent;
    /// every message is acked once (a receipt each, accepted, history naming the rendering), and no
    /// temporary file is left.
    @Test func fileDropWritesRenderedDocumentsThatTranslateBack() async throws {
        let folder = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let drop = folder.appendingPathComponent("drop")
        let config = try Self.configuration(
            in: folder, participant: "xinsheng", formats: ["traffic-violation": "cq-traffic-json"], connector: "fileDrop: { folder: \(drop.path) }")
        let server = try await ServerProcess.start(data: try Self.data(in: folder), environment: Self.environment, arguments: ["--config", config])
        defer { server.killNow() }
        let renshi = try #require(server.printedTokens["renshi"])
        let client = HTTPClient(port: server.port)

        let document = try fixture("sc-traffic-xml/002-batch-three-utf8.xml")
        let submitted = try await client.call("POST", "/v1/documents", token: renshi, body: document)
        #expect(submitted.status == 200, "\(submitted.text)")
        let ids = (submitted.json?["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
        #expect(ids.count == 3)

        try await Self.eventually("three receipts for renshi") { try await Self.receipts(client, token: renshi).count == 3 }
        let names = try FileManager.default.contentsOfDirectory(atPath: drop.path).sorted()
        #expect(names == ids.map { $0 + ".json" }.sorted(), "only the documents, no temporary file")

        let renderer = try Renderer(mapping: try #require(Self.translator.mapping(id: "cq-traffic-json")))
        let sent = Self.records(document)
        let dropped = try ids.flatMap { id in Self.records(Array(try Data(contentsOf: drop.appendingPathComponent(id + ".json"))), mapping: "cq-traffic-json") }
        #expect(dropped.count == 3)
        for (original, back) in zip(sent, dropped) {
            #expect(Renderer.differences(back, renderer.expectedBack(original)).isEmpty, "\(Renderer.differences(back, renderer.expectedBack(original)))")
        }
        for receipt in try await Self.receipts(client, token: renshi) {
            #expect(receipt["outcome"]?.stringValue == "accepted")
            #expect(receipt["destination"]?.stringValue == "xinsheng")
        }
        let history = try await client.call("GET", "/v1/messages/\(ids[0])/history", token: renshi).json?["history"]?.arrayValue ?? []
        let acked = history.filter { $0["event"]?.stringValue == "acked" }
        #expect(acked.count == 1)
        #expect(acked.first?["detail"]?.stringValue?.contains("cq-traffic-json") == true, "\(history)")
        // Each message the connector leased has the audit line a client's lease writes, naming the connector.
        let leasedLines = server.log.split(separator: "\n").filter { $0.contains("message leased") && $0.contains("connector=fileDrop") }
        for id in ids {
            #expect(leasedLines.contains { $0.contains("envelopeId=\(id)") && $0.contains("participant=xinsheng") }, "\(server.log.suffix(3000))")
        }
    }

    /// A drop folder that cannot be written (its path is a file): each attempt is nacked naming
    /// the folder, the message dies after `retry.maxDeliveries`, nothing is acked; once the path is
    /// a folder again, ops replay it and it lands there and is acked.
    @Test func anUnwritableDropFolderDeadLettersThenAReplayDelivers() async throws {
        let folder = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let drop = folder.appendingPathComponent("drop")
        try Data("not a folder".utf8).write(to: drop)
        let config = try Self.configuration(
            in: folder, participant: "renshi", formats: ["traffic-violation": "sc-traffic-xml"], connector: "fileDrop: { folder: \(drop.path) }",
            maxDeliveries: 2)
        let server = try await ServerProcess.start(data: try Self.data(in: folder), environment: Self.environment, arguments: ["--config", config])
        defer { server.killNow() }
        let xinsheng = try #require(server.printedTokens["xinsheng"])
        let ops = try #require(server.printedTokens["ops"])
        let client = HTTPClient(port: server.port)
        let (id, dead) = try await Self.submitOneUntilDead(client, xinsheng: xinsheng, ops: ops, tag: "DROP")
        #expect(dead?["envelopeId"]?.stringValue == id)
        #expect(dead?["lastError"]?.stringValue?.hasPrefix("fileDrop to \(drop.path): ") == true, "\(String(describing: dead))")
        #expect(try await Self.receipts(client, token: xinsheng).isEmpty)

        try FileManager.default.removeItem(at: drop)
        let messageId = try #require(dead?["messageId"]?.numberValue?.intValue)
        let replayed = try await client.call("POST", "/v1/ops/dead-letters/\(messageId)/replay", token: ops)
        #expect(replayed.status == 200, "\(replayed.text)")
        try await Self.eventually("the receipt after the replay") { try await Self.receipts(client, token: xinsheng).count == 1 }
        #expect(try FileManager.default.contentsOfDirectory(atPath: drop.path) == [id + ".xml"])
    }

    /// HTTP push to a real loopback receiver: each document POSTed once under its own
    /// `Idempotency-Key` (the envelope id), rendered as `sc-traffic-xml` (GBK) for 任市, with the
    /// configured header; acked after the 2xx.
    @Test func httpPushPostsEachDocumentOnceWithItsIdempotencyKey() async throws {
        let receiver = PushReceiver { _ in 200 }
        try await receiver.run { port in
            let folder = try ServerProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: folder) }
            let config = try Self.configuration(
                in: folder, participant: "renshi", formats: ["traffic-violation": "sc-traffic-xml"],
                connector: "httpPush:\n  url: http://127.0.0.1:\(port)/inbox?office=renshi\n  headers: { Authorization: Bearer office-secret }\n  timeout: 10")
            let server = try await ServerProcess.start(data: try Self.data(in: folder), environment: Self.environment, arguments: ["--config", config])
            defer { server.killNow() }
            let xinsheng = try #require(server.printedTokens["xinsheng"])
            let client = HTTPClient(port: server.port)
            let document = chongqingTraffic(tag: "PUSH", count: 3)
            let submitted = try await client.call("POST", "/v1/documents", token: xinsheng, body: document)
            #expect(submitted.status == 200, "\(submitted.text)")
            let ids = (submitted.json?["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
            try await Self.eventually("three receipts for xinsheng") { try await Self.receipts(client, token: xinsheng).count == 3 }

            let requests = receiver.requests.withLock { $0 }
            #expect(requests.compactMap(\.key).sorted() == ids.sorted(), "one POST per envelope")
            let renderer = try Renderer(mapping: try #require(Self.translator.mapping(id: "sc-traffic-xml")))
            let sent = Dictionary(uniqueKeysWithValues: Self.records(document).map { ($0["recordId"]?.stringValue ?? "", $0) })
            for request in requests {
                #expect(request.format == "sc-traffic-xml")
                #expect(request.contentType?.hasPrefix("application/xml") == true)
                #expect(request.authorization == "Bearer office-secret")
                #expect(request.query == "office=renshi")
                #expect(request.body.starts(with: Array("<?xml version=\"1.0\" encoding=\"GBK\"?>".utf8)))
                let back = try #require(Self.records(request.body, mapping: "sc-traffic-xml").first)
                let id = (back["recordId"]?.stringValue ?? "").replacingOccurrences(of: "sc-traffic:", with: "cq-traffic:")
                let original = try #require(sent[id])
                #expect(Renderer.differences(back, renderer.expectedBack(original)).isEmpty, "\(Renderer.differences(back, renderer.expectedBack(original)))")
            }
        }
    }

    /// A receiver that keeps failing: each delivery is retried (same key) with back-off until
    /// `retry.maxDeliveries`, then the message is a dead letter whose reason names the answer; no
    /// receipt is signed.
    @Test func aFailingReceiverIsRetriedThenDeadLettersWithTheReason() async throws {
        let receiver = PushReceiver { _ in 503 }
        try await receiver.run { port in
            let folder = try ServerProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: folder) }
            let config = try Self.configuration(
                in: folder, participant: "renshi", formats: [:], connector: "httpPush: { url: \"http://127.0.0.1:\(port)/inbox\", timeout: 10 }",
                maxDeliveries: 3)
            let server = try await ServerProcess.start(data: try Self.data(in: folder), environment: Self.environment, arguments: ["--config", config])
            defer { server.killNow() }
            let xinsheng = try #require(server.printedTokens["xinsheng"])
            let ops = try #require(server.printedTokens["ops"])
            let client = HTTPClient(port: server.port)
            let (id, dead) = try await Self.submitOneUntilDead(client, xinsheng: xinsheng, ops: ops, tag: "DEAD")
            #expect(dead?["envelopeId"]?.stringValue == id)
            let reason = dead?["lastError"]?.stringValue ?? "\(String(describing: dead))"
            #expect(reason.contains("httpPush to http://127.0.0.1:\(port)/inbox: answered 503"), "\(reason)")
            let requests = receiver.requests.withLock { $0 }
            #expect(requests.count == 3, "three deliveries before the dead letter")
            #expect(Set(requests.map(\.key)) == [id])
            // The canonical envelope (no format configured), as JSON.
            #expect(requests.first?.format == "canonical")
            #expect(requests.first.flatMap { try? JSONParser.parse($0.body) }?["envelope"]?["id"]?.stringValue == id)
            #expect(try await Self.receipts(client, token: xinsheng).isEmpty)
        }
    }

    /// kill -9 between the hand-over and the ack: the receiver records the first POST, then kills
    /// the server before answering. After a restart the lease runs out and the same document comes
    /// again under the same key; this time it is acked, exactly once.
    @Test func aCrashBetweenDeliveryAndAckRedeliversUnderTheSameKey() async throws {
        let server = Locked<ServerProcess?>(nil)
        let receiver = PushReceiver { n in
            if n == 0, let process = server.withLock({ $0 }) { process.killNow() }
            return 200
        }
        try await receiver.run { port in
            let folder = try ServerProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: folder) }
            let data = try Self.data(in: folder)
            let config = try Self.configuration(
                in: folder, participant: "renshi", formats: ["traffic-violation": "sc-traffic-xml"],
                connector: "httpPush: { url: \"http://127.0.0.1:\(port)/inbox\", timeout: 1 }")
            let first = try await ServerProcess.start(data: data, environment: Self.environment, arguments: ["--config", config])
            server.withLock { $0 = first }
            let xinsheng = try #require(first.printedTokens["xinsheng"])
            let submitted = try await HTTPClient(port: first.port).call(
                "POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "CRASH", count: 1))
            let id = try #require(submitted.json?["records"]?.arrayValue?.first?["envelopeId"]?.stringValue)
            try await Self.eventually("the first delivery, then the kill") { receiver.requests.withLock { $0.count } >= 1 && !first.process.isRunning }
            #expect(first.process.terminationReason == .uncaughtSignal)

            let second = try await ServerProcess.start(data: data, environment: Self.environment, arguments: ["--config", config])
            defer { second.killNow() }
            let client = HTTPClient(port: second.port)
            try await Self.eventually("the receipt after the restart") { try await Self.receipts(client, token: xinsheng).count == 1 }
            // The first POST and the one after the restart; on a loaded machine an answer of this
            // receiver may outlast the 1 s timeout, and that POST is retried: same key, same document.
            let requests = receiver.requests.withLock { $0 }
            #expect(requests.count >= 2 && requests.allSatisfy { $0.key == id }, "the same idempotency key each time: \(requests.map(\.key))")
            #expect(requests.allSatisfy { $0.body == requests[0].body }, "the same document")
            let history = try await client.call("GET", "/v1/messages/\(id)/history", token: xinsheng).json?["history"]?.arrayValue ?? []
            #expect(history.filter { $0["event"]?.stringValue == "acked" }.count == 1, "\(history)")
            #expect(history.contains { $0["event"]?.stringValue == "expired" }, "\(history)")
        }
    }
}

extension ConnectorTests {
    /// kill -9 between the rename into the drop folder and the ack (the debug build's fail point
    /// `connector.after-delivery`, since the two steps are microseconds apart): the document is in
    /// the folder and nothing is acked. After a restart the lease runs out and the same document is
    /// written again under the same name (the office's copy, here marked as taken, is overwritten,
    /// no second file appears); then it is acked, exactly once.
    @Test func aCrashBetweenTheDropAndTheAckRedeliversUnderTheSameName() async throws {
        let folder = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let drop = folder.appendingPathComponent("drop")
        let data = try Self.data(in: folder)
        let config = try Self.configuration(
            in: folder, participant: "renshi", formats: ["traffic-violation": "sc-traffic-xml"], connector: "fileDrop: { folder: \(drop.path) }")
        let crashing = Self.environment.merging(["XGW_FAILPOINTS": "connector.after-delivery"]) { $1 }
        let first = try await ServerProcess.start(data: data, environment: crashing, arguments: ["--config", config])
        defer { first.killNow() }
        let xinsheng = try #require(first.printedTokens["xinsheng"])
        let submitted = try await HTTPClient(port: first.port).call(
            "POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "DROPCRASH", count: 1))
        let id = try #require(submitted.json?["records"]?.arrayValue?.first?["envelopeId"]?.stringValue)
        try await Self.eventually("the drop, then the kill") { !first.process.isRunning }
        #expect(first.process.terminationReason == .uncaughtSignal)
        let file = drop.appendingPathComponent(id + ".xml")
        let delivered = try Data(contentsOf: file)
        #expect(!delivered.isEmpty)
        try Data("taken by the office".utf8).write(to: file)

        let second = try await ServerProcess.start(data: data, environment: Self.environment, arguments: ["--config", config])
        defer { second.killNow() }
        let client = HTTPClient(port: second.port)
        try await Self.eventually("the receipt after the restart", seconds: 180) { try await Self.receipts(client, token: xinsheng).count == 1 }
        #expect(try Data(contentsOf: file) == delivered, "the same document again, under the same name")
        #expect(try FileManager.default.contentsOfDirectory(atPath: drop.path) == [id + ".xml"], "one file, no temporary one")
        let history = try await client.call("GET", "/v1/messages/\(id)/history", token: xinsheng).json?["history"]?.arrayValue ?? []
        #expect(history.filter { $0["event"]?.stringValue == "acked" }.count == 1, "\(history)")
        #expect(history.contains { $0["event"]?.stringValue == "expired" }, "\(history)")
    }
}

/// An office's HTTP receiver on loopback (a real Hummingbird server in the test process): records
/// every POST to `/inbox` and answers the status `answer` gives for the n-th one (from 0).
final class PushReceiver: Sendable {
    struct Received: Sendable {
        var key: String?
        var format: String?
        var contentType: String?
        var authorization: String?
        var query: String?
        var body: [UInt8]
    }

    let requests = Locked<[Received]>([])
    let answer: @Sendable (Int) -> Int

    init(answer: @escaping @Sendable (Int) -> Int) { self.answer = answer }

    /// Runs the receiver for the duration of `body`, which gets its port.
    func run(_ body: (Int) async throws -> Void) async throws {
        let router = Router()
        let requests = self.requests
        let answer = self.answer
        router.post("/inbox") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            let received = Received(
                key: request.headers[HTTPField.Name("Idempotency-Key")!], format: request.headers[HTTPField.Name("X-Xgw-Format")!],
                contentType: request.headers[.contentType], authorization: request.headers[.authorization], query: request.uri.query,
                body: Array(buffer: bytes))
            let n = requests.withLock { list in
                list.append(received)
                return list.count - 1
            }
            return Response(status: .init(code: answer(n)))
        }
        let port = Locked<Int?>(nil)
        let logger = Logger(label: "push-receiver")
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let running = Task { try await group.run() }
        do {
            try await ConnectorTests.eventually("the receiver listening", seconds: 60) { port.withLock { $0 } != nil }
            try await body(port.withLock { $0 }!)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }
}

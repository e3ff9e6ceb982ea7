import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import GatewayQueue
import GatewayQueueContract
import GatewayQueuePostgres
import Testing

@Suite("PostgreSQL queue settings")
struct PostgresQueueSettingsTests {
    @Test func parsesURL() throws {
        let settings = try PostgresQueueSettings(url: "postgres://gw:s%40cret@db.example:6543/xgw?schema=office_a&pool=4")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6543)
        #expect(settings.username == "gw")
        #expect(settings.password == "s@cret")
        #expect(settings.database == "xgw")
        #expect(settings.schema == "office_a")
        #expect(settings.maximumConnections == 4)
        #expect(!settings.description.contains("cret"), "the description never shows the password")
    }

    @Test func defaultsAndRefusals() throws {
        let settings = try PostgresQueueSettings(url: "postgresql://localhost")
        #expect(settings.port == 5432 && settings.database == "postgres" && settings.schema == "public")
        for bad in ["sqlite:./x.sqlite", "postgres://h/db?schema=Bad-Name", "postgres://h/db?pool=0",
                    "postgres://h/db?sslmode=require", "postgres://h/db?colour=red"] {
            #expect(throws: QueueError.self, "\(bad)") { try PostgresQueueSettings(url: bad) }
        }
    }
}

/// Tests that need a server; serialized because the multi-node test restarts it.
@Suite(
    "PostgreSQL driver",
    .serialized,
    .enabled(if: postgresURL != nil, "XGW_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against (.ci/run starts one)")
)
struct PostgresQueueTests {
    @Test(arguments: QueueContract.allCases)
    func contract(_ rule: QueueContract) async throws {
        let queues = ScratchQueues()
        do {
            try await rule.run { configuration in try await queues.make(configuration) }
        } catch {
            await queues.stopAll()
            throw error
        }
        await queues.stopAll()
    }

    @Test func nodesStartingTogetherMigrateOnce() async throws {
        let schema = "xgw_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let first = try await ScratchQueue.make(schema: schema)
        var others: [ScratchQueue] = []
        // Four more nodes on the same fresh schema at once: every migrate returns, none applies v1 again.
        let applied = try await withThrowingTaskGroup(of: (ScratchQueue, [Int]).self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var settings = first.queue.settings
                    settings.maximumConnections = 2
                    let queue = PostgresMessageQueue(settings: settings)
                    let task = Task { await queue.run() }
                    return (ScratchQueue(queue: queue, task: task), try await queue.migrate())
                }
            }
            var all: [[Int]] = []
            for try await (node, versions) in group {
                others.append(node)
                all.append(versions)
            }
            return all
        }
        #expect(applied.allSatisfy { $0.isEmpty }, "schema was already migrated by the first node: \(applied)")
        let item = contractItem(recordId: "r1", to: ["pa"])
        #expect(try await others[0].queue.enqueue(submitter: "s", items: [item]).first?.duplicate == false)
        #expect(try await first.queue.depths()["pa"]?.queued == 1, "all nodes see one queue")
        for node in others { await node.stop(dropSchema: false) }
        await first.stop()
    }

    @Test func freshSchemaMigratesConcurrently() async throws {
        let schema = "xgw_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        var settings = try PostgresQueueSettings(url: try #require(postgresURL))
        settings.schema = schema
        settings.maximumConnections = 2
        let nodes = (0..<3).map { _ in PostgresMessageQueue(settings: settings) }
        let tasks = nodes.map { node in Task { await node.run() } }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for node in nodes { group.addTask { try await node.migrate() } }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        let versions = PostgresMessageQueue.migrations.map(\.version)
        #expect(applied.sorted { $0.count > $1.count } == [versions, [], []], "exactly one node applies the migrations: \(applied)")
        try await nodes[0].dropSchema()
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    @Test func unreachableServerIsNotReady() async throws {
        // A port nobody listens on: ping fails with a storage error within its deadline.
        var settings = try PostgresQueueSettings(url: try #require(postgresURL))
        settings.port = 9
        let queue = PostgresMessageQueue(settings: settings)
        let task = Task { await queue.run() }
        let start = Date()
        await #expect(throws: QueueError.self) { try await queue.ping() }
        #expect(Date().timeIntervalSince(start) < 5)
        task.cancel()
        await task.value
    }

    /// A server that accepts the connection and then never answers (a hung or half-open
    /// database): every call fails at its deadline instead of waiting forever, and the queue
    /// keeps answering (each call gets its own deadline).
    @Test func silentServerCannotHangACall() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let queue = try PostgresMessageQueue(url: "postgres://xgw@127.0.0.1:\(listener.port)/db?timeout=1&pool=2")
        let task = Task { await queue.run() }
        for _ in 0..<3 {
            let start = ContinuousClock.now
            await #expect(throws: QueueError.self) { _ = try await queue.depths() }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(3), "failed after \(elapsed)")
        }
        #expect(listener.accepted > 0, "the driver did connect and got no answer")
        task.cancel()
        await task.value
    }
}

/// A loopback TCP listener that accepts connections and never reads or writes.
final class SilentListener: Sendable {
    private struct State {
        var clients: [Int32] = []
        var closed = false
    }

    let port: Int
    private let fd: Int32
    private let state = Mutex(State())

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw QueueError(.storage, "cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                let keep = state.withLock { state -> Bool in
                    if state.closed { return false }
                    state.clients.append(client)
                    return true
                }
                if !keep { Glibc.close(client); return }
            }
        }
    }

    var accepted: Int { state.withLock { $0.clients.count } }

    func close() {
        let open = state.withLock { state -> [Int32] in
            state.closed = true
            return state.clients
        }
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        for client in open { Glibc.close(client) }
    }
}

import Foundation
import GatewayFederation
@testable import GatewayServer
import Logging
import Synchronization
import Testing

/// The client-side identity probe (`PeerClient.probe`, a swift-nio-ssl handshake to the peer's
/// address) has a handshake timeout: a peer that accepts the TCP connection and never answers fails
/// the probe, and a transfer to it fails (to be retried with back-off) instead of holding the
/// forwarder.
@Suite struct FederationProbeTests {
    /// A TCP listener on loopback that never accepts nor answers (the kernel completes the TCP
    /// handshake into its backlog): a silent peer. Returns the socket and its port.
    static func silentListener() throws -> (socket: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw TestFailure("bind/listen: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw TestFailure("getsockname: errno \(errno)") }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// What each task came to, shared with the test.
    final class Outcomes: Sendable {
        private let state = Mutex<[String: String]>([:])
        func withLock<R: Sendable>(_ body: (inout [String: String]) -> R) -> R { state.withLock { body(&$0) } }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func aSilentPeerFailsTheProbeAndTheTransferInsteadOfHangingIt() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let pki = try alliance.nodePKI("renshi-node")
        let node = NodeConfiguration(
            id: "renshi-node", directory: alliance.folder.appendingPathComponent("unused.json").path,
            federation: .init(certificate: pki.nodeCertificatePath("renshi-node"), key: pki.nodeKeyPath("renshi-node")))
        let tls = try NodeTLS(node: node, pkiPath: pki.path, logger: Logger(label: "probe-test"))
        let client = PeerClient(tls: tls, probeTimeout: .seconds(2))
        let silent = try Self.silentListener()
        defer { close(silent.socket) }
        let peer = DirectoryNode(
            id: "xinsheng-node", url: "https://127.0.0.1:\(silent.port)", tlsCertificateSha256: String(repeating: "0", count: 64), hosts: [])

        // The probe alone, then a transfer (which probes first). Each runs in a task of its own and
        // the test waits for it at most a generous minute, so that a hang fails the test, not the run.
        let outcomes = Outcomes()
        let probe = Task {
            do { _ = try await client.probe(peer); outcomes.withLock { $0["probe"] = "succeeded" } } catch {
                outcomes.withLock { $0["probe"] = "\(error)" }
            }
        }
        let transfer = Task {
            do { _ = try await client.post(peer, path: "/v1/federation/envelopes", body: Array("{\"envelopes\":[]}".utf8)); outcomes.withLock { $0["post"] = "answered" } } catch {
                outcomes.withLock { $0["post"] = "\(error)" }
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while outcomes.withLock({ $0.count }) < 2 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let seen = outcomes.withLock { $0 }
        #expect(seen["probe"]?.contains("no TLS handshake within 2000 ms") == true, "the probe: \(seen["probe"] ?? "still running after 60 s")")
        #expect(seen["post"]?.contains("no TLS handshake within 2000 ms") == true, "the transfer: \(seen["post"] ?? "still running after 60 s")")
        if seen.count == 2 {
            _ = await (probe.value, transfer.value)
            await client.shutdown()
        }
    }
}

import Foundation
import GatewayModel
import Synchronization
import Testing
import TestSupport

/// kill -9 of either node of a transfer, several times (issue 13, "Tests"): every submission the
/// sending node accepted ends in the recipient's inbox at the other node, and no inbox gets a
/// message twice. xinsheng submits Chongqing traffic documents (50 records each, one envelope per
/// record, all to renshi) at xinsheng-node; renshi leases them at renshi-node.
@Suite(.serialized) struct FederationCrashTests {
    static let sender = "xinsheng-node"
    static let receiver = "renshi-node"
    /// Failed deliveries retried within seconds (the default waits up to 5 minutes), so that three
    /// crashes fit in a short test; the order and duplicate rules do not depend on the delays.
    static let fastRetry = "retry:\n  baseDelaySeconds: 0.2\n  maxDelaySeconds: 2\n"

    /// What the submissions promised: envelope id → record id of every accepted record (each must
    /// arrive once), and the record ids of submissions whose answer never came (each may arrive at
    /// most once: a submit the crash interrupted may or may not have been committed).
    final class Promises: Sendable {
        private let state = Mutex<(accepted: [String: String], unanswered: Set<String>)>(([:], []))
        var accepted: [String: String] { state.withLock { $0.accepted } }
        var unanswered: Set<String> { state.withLock { $0.unanswered } }

        /// Submits one document of 50 records tagged `tag` (upper case, as the mapping makes record
        /// ids) as xinsheng; false when no answer came.
        func submit(_ nodes: TwoNodes, tag: String) async -> Bool {
            let recordIds = (0..<50).map { "cq-traffic:CQ\(tag)-\($0)" }
            do {
                let answer = try await nodes.client(FederationCrashTests.sender).call(
                    "POST", "/v1/documents", token: nodes.token(FederationCrashTests.sender, "xinsheng"),
                    body: chongqingTraffic(tag: tag, count: 50), timeout: 60)
                #expect(answer.status == 200, "\(answer.text)")
                var promised: [String: String] = [:]
                for record in answer.json?["records"]?.arrayValue ?? [] {
                    guard let id = record["envelopeId"]?.stringValue, let recordId = record["recordId"]?.stringValue else { continue }
                    #expect(record["destinations"]?.arrayValue?.compactMap(\.stringValue) == ["renshi"], "\(record)")
                    promised[id] = recordId
                }
                #expect(promised.count == 50, "\(answer.text.prefix(2000))")
                state.withLock { $0.accepted.merge(promised) { a, _ in a } }
                return true
            } catch {
                state.withLock { $0.unanswered.formUnion(recordIds) }
                return false
            }
        }
    }

    /// Two nodes with a fast retry policy, both started.
    static func started() async throws -> TwoNodes {
        let nodes = try TwoNodes()
        nodes.extraConfiguration = fastRetry
        try await nodes.start(receiver)
        try await nodes.start(sender)
        return nodes
    }

    /// The envelopes the sender's forwarder has had accepted by the receiver since the sender started
    /// (`xgw_federation_transfers_total` on its `/metrics`).
    static func forwarded(_ nodes: TwoNodes) async -> Int? {
        guard let metrics = try? await nodes.client(sender).call("GET", "/metrics").text else { return nil }
        return metrics.split(separator: "\n")
            .filter { $0.hasPrefix("xgw_federation_transfers_total{") && $0.contains("peer=\"\(receiver)\"") && $0.contains("result=\"accepted\"") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0) { $0 + Int($1) }
    }

    /// Polls until a transfer is under way: the receiver has accepted envelopes of this round and
    /// the sender's outbox still holds some (its forwarder leases them at once). False when
    /// `seconds` passed first (the kill then happens between transfers).
    static func midTransfer(_ nodes: TwoNodes, seconds: Double = 20) async -> Bool {
        let before = await forwarded(nodes) ?? 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let depth = try? await nodes.outbox(sender, towards: receiver).depth, depth > 0,
                let now = await forwarded(nodes), now > before
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// After the crashes: the outbox drains with no dead letter, and renshi's inbox holds each
    /// accepted envelope exactly once with its record id, and nothing else but at most one
    /// envelope of each unanswered record.
    static func checkDelivery(_ nodes: TwoNodes, _ promises: Promises, atLeast: Int) async throws {
        let drained = try await nodes.drained(sender, towards: receiver, seconds: 60)
        #expect(drained, "\(nodes.servers[sender]!.log.suffix(3000))")
        #expect(try await nodes.outbox(sender, towards: receiver).dead == 0)
        let accepted = promises.accepted
        let unanswered = promises.unanswered
        #expect(accepted.count >= atLeast)
        var messages = try await nodes.leaseAll(receiver, "renshi", seconds: 60) { got in
            Set(got.compactMap { $0["envelopeId"]?.stringValue }).isSuperset(of: accepted.keys)
        }
        // Whatever a repeated transfer could still bring has left the (drained) outbox: one more
        // look after a pause finds nothing new unless something came twice.
        try await Task.sleep(for: .seconds(1))
        messages += try await nodes.leaseAll(receiver, "renshi", seconds: 0) { _ in true }

        var seen: [String: Int] = [:]
        var recordsSeen: [String: Int] = [:]
        for message in messages {
            let id = message["envelopeId"]?.stringValue ?? ""
            let recordId = message["recordId"]?.stringValue ?? ""
            seen[id, default: 0] += 1
            recordsSeen[recordId, default: 0] += 1
            if let promised = accepted[id] {
                #expect(recordId == promised, "envelope \(id) carries \(recordId), the submit answered \(promised)")
            } else if !unanswered.contains(recordId) {
                Issue.record("envelope \(id) of \(recordId) was never submitted")
            }
            #expect(message["submitter"]?.stringValue == "xinsheng")
        }
        let twice = seen.filter { $0.value > 1 }
        #expect(twice.isEmpty, "delivered more than once: \(twice.keys.sorted().prefix(10))")
        let recordsTwice = recordsSeen.filter { $0.value > 1 }
        #expect(recordsTwice.isEmpty, "records delivered more than once: \(recordsTwice.keys.sorted().prefix(10))")
        let missing = Set(accepted.keys).subtracting(seen.keys)
        #expect(missing.isEmpty, "\(missing.count) accepted envelopes never arrived: \(nodes.servers[sender]!.log.suffix(3000))")
    }

    /// Three rounds: documents are submitted at the sender while `victim` is killed with SIGKILL in
    /// the middle of a transfer and started again on its data folder; then the delivery is checked.
    static func killThreeTimes(_ victim: String, tag: String) async throws {
        let nodes = try await started()
        defer { nodes.remove() }
        let promises = Promises()
        var interrupted = 0
        for round in 0..<3 {
            // Submissions go on while the victim is down (when it is the sender, they fail unanswered).
            let submitting = Task {
                for index in 0..<6 { _ = await promises.submit(nodes, tag: "\(tag)\(round)-\(index)") }
            }
            if await midTransfer(nodes) { interrupted += 1 }
            await nodes.servers[victim]!.stop(signal: SIGKILL)
            await submitting.value
            try await nodes.start(victim)
            // A killed sender refuses what was submitted while it was down (how much depends on the
            // machine's speed); one document after each restart makes sure every round has records
            // that a restarted sender accepted and must forward.
            if victim == sender {
                #expect(await promises.submit(nodes, tag: "\(tag)\(round)-AFTER"), "the restarted sender answers")
            }
        }
        if victim == receiver { #expect(promises.unanswered.isEmpty, "the sender stayed up: every submit has its answer") }
        // The receiver's kills leave the sender answering all 18 documents; the sender's kills
        // leave at least the three submitted after each restart.
        try await checkDelivery(nodes, promises, atLeast: victim == receiver ? 50 * 18 : 50 * 3)
        // At least one of the three kills hit a transfer under way (else the test proved little).
        #expect(interrupted > 0)
    }

    @Test func killingTheReceivingNodeDuringTransfersLosesAndRepeatsNothing() async throws {
        try await Self.killThreeTimes(Self.receiver, tag: "RCV")
    }

    @Test func killingTheSendingNodeDuringForwardingLosesAndRepeatsNothing() async throws {
        try await Self.killThreeTimes(Self.sender, tag: "SND")
    }
}

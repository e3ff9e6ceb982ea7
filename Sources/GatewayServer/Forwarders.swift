import Foundation
import GatewayFederation
import GatewayModel
import GatewayQueue
import GatewaySigning
import Logging
import ServiceLifecycle
import Synchronization

/// One forwarder per peer node (federation.md, "Store and forward"): takes the peer's outbox
/// (queue destination `node:<peer>`) in order, in batches, posts envelopes and receipts to the peer
/// and settles each message by its result: `accepted` and `duplicate` ack it, `rejected` makes it a
/// dead letter with the reason (which, for an outbox, holds back the later revisions of its record
/// until ops replay or discard it); a failed transfer (no answer, an answer of another shape,
/// a 4xx other than 413, a 5xx) gives the batch back with back-off, never drops it. A 413 halves the
/// batch. When the peer's answer names a higher directory serial, the forwarder first fetches the
/// peer's directory (adopted if it passes acceptance), then settles: a `not-hosted-here` under a
/// directory that no longer gives the peer any recipient is re-routed (`reroute`), not dead.
///
/// Several processes of one node on PostgreSQL each run forwarders: the queue's leases keep them
/// from sending the same message at once.
///
/// **Batches in flight.** Each forwarder runs `lanes` loops (lease, transfer, settle) side by side,
/// so up to `lanes` batches to one peer are in flight at once. Per-record order holds across them
/// because of the outbox lease (`LeaseSelection`): an outbox hands out only the head of a record's
/// FIFO group, and never while a message of that group is leased (or dead), so two batches in
/// flight never hold two revisions of one record, and a record's next revision can be leased only
/// after the previous one was settled from the peer's answer. Receipts are groups of their own.
///
/// **Batch size.** Starts at `batchSize`; a full batch whose transfer took longer than
/// `targetTransfer` makes the next ones smaller in proportion (down to `smallestBatch`), one that
/// took less than half of it makes them a quarter larger again (`ForwarderPace`).
///
/// **Lease.** A transfer's calls to the peer share one deadline, `transferTimeout` after it starts
/// (`PeerClient.transferTimeout`: a probe's connect and handshake plus one request's timeout); the
/// outbox lease is that plus `settleMargin` for settling the answer, so a transfer cannot outlast
/// the lease it holds (`leaseSeconds`).
struct Forwarders: Service {
    let gateway: Gateway
    let directory: NodeDirectory
    let client: PeerClient
    /// Messages per transfer at most (at most the contract's 1000).
    var batchSize = 200
    /// The smallest batch the size adaptation goes down to.
    var smallestBatch = 100
    /// The transfer time the batch size aims at.
    var targetTransfer: Duration = .milliseconds(100)
    /// Batches in flight per peer (lanes of one forwarder).
    var lanes = 2
    /// How long a forwarder waits when its outbox is empty before it looks again.
    var idleInterval: Duration = .milliseconds(100)
    /// Time left, after a transfer's deadline, to settle its answer in the queue before its lease ends.
    static let settleMargin: TimeInterval = 15
    /// How long a forwarder holds what it leased from an outbox: a transfer's deadline
    /// (`PeerClient.transferTimeout`) plus `settleMargin`, so that two processes of one node never
    /// send a message at once; and no longer, because the leases of a process that died (kill -9,
    /// a power cut) hold its batch, and the later revisions of its records, back until they expire.
    static var leaseSeconds: TimeInterval { PeerClient.transferTimeout.seconds + settleMargin }
    let state: PeerStates

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var running = Set<String>()
                var checkedSerial = -1
                var warned = Set<String>()
                while !Task.isCancelled {
                    // A forwarder for every peer of the current directory (a new directory may add peers).
                    let current = directory.current
                    for peer in current.nodes where peer.id != directory.node.id && !running.contains(peer.id) {
                        running.insert(peer.id)
                        group.addTask { await forward(to: peer.id) }
                        group.addTask { await poll(peer.id) }
                    }
                    if current.serial != checkedSerial, let depths = try? await gateway.queue.depths() {
                        checkedSerial = current.serial
                        let dropped = gateway.droppedPeerOutboxes(depths)
                        for (peer, depth) in dropped where !warned.contains(peer) {
                            gateway.logger.warning(
                                "a peer is not in the directory any more; its outbox is kept, unsent, until it is back (or ops discard it)",
                                metadata: [
                                    "peer": .string(peer), "directorySerial": "\(current.serial)",
                                    "queued": "\(depth.queued + depth.leased)", "deadLetters": "\(depth.dead)",
                                ])
                        }
                        warned = Set(dropped.map(\.node))
                    }
                    try? await Task.sleep(for: .seconds(5))
                }
                group.cancelAll()
            }
        }
        await client.shutdown()
    }

    /// One peer's forwarder: `lanes` loops sharing its batch size and back-off.
    func forward(to peerID: String) async {
        let pace = ForwarderPace(largest: batchSize, smallest: smallestBatch, target: targetTransfer)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, lanes) {
                group.addTask { await lane(to: peerID, pace: pace) }
            }
        }
    }

    /// One lane of a peer's forwarder: lease a batch, transfer it, settle it, again. The acks of
    /// a transfer are stored with the lease of the next batch, in one transaction
    /// (`Gateway.leaseNext`, `MessageQueue.ackAndLease`): one commit per batch on the sender
    /// instead of two. A transfer's time (`xgw_federation_transfer_seconds`) runs from the batch in
    /// hand to its acks stored.
    func lane(to peerID: String, pace: ForwarderPace) async {
        let outbox = Outbox.destination(node: peerID)
        // The last transfer's acks, not stored yet, and when that transfer started.
        var settling: [Acknowledgement] = []
        var transferred: (start: ContinuousClock.Instant, messages: Int)?
        func settled(at instant: ContinuousClock.Instant?) {
            defer {
                settling = []
                transferred = nil
            }
            guard let (start, count) = transferred else { return }
            guard let instant else {
                gateway.logger.warning(
                    "the acks of a transfer could not be stored; its messages will be sent again when their lease ends",
                    metadata: ["peer": .string(peerID), "messages": "\(count)"])
                return
            }
            let elapsed = instant - start
            gateway.metrics.transferDuration(
                peer: peerID, nanoseconds: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000,
                messages: count)
        }
        // Stores the last transfer's acks alone, before the lane waits.
        func flush() async {
            guard transferred != nil else { return }
            var stored = true
            if !settling.isEmpty { stored = (try? await gateway.queue.ack(participant: outbox, settling)) != nil }
            settled(at: stored ? .now : nil)
        }
        while !Task.isCancelled {
            // A peer dropped from the directory: its outbox waits (nothing is lost; the run loop
            // warns and `GET /v1/ops/peers` lists it with `inDirectory: false`).
            guard let peer = directory.current.node(id: peerID) else {
                await flush()
                try? await Task.sleep(for: .seconds(5))
                continue
            }
            let wait = pace.wait()
            if wait > .zero {
                await flush()
                try? await Task.sleep(for: wait)
                continue
            }
            let size = pace.size
            // A transfer with nothing to ack (all dead letters, or a 413) is settled already.
            if transferred != nil && settling.isEmpty { settled(at: .now) }
            let turn = await gateway.leaseNext(outbox, max: size, visibility: Self.leaseSeconds, idle: idleInterval, settling: settling)
            if transferred != nil { settled(at: turn.settledAt) }
            let messages = turn.messages
            if messages.isEmpty { continue }
            let start = ContinuousClock.now
            var acks: [Acknowledgement] = []
            do {
                let tooLarge = try await transfer(messages, to: peer, deadline: start + PeerClient.transferTimeout.duration, settling: &acks)
                pace.succeeded(messages: messages.count, requested: size, elapsed: ContinuousClock.now - start, tooLarge: tooLarge)
                settling = acks
                transferred = (start, messages.count)
            } catch {
                state.failed(peer: peerID, error: "\(error)")
                gateway.metrics.transfer(peer: peerID, result: "failed", count: messages.count)
                gateway.logger.warning(
                    "a transfer to a peer failed; it will be retried", metadata: ["peer": .string(peerID), "messages": "\(messages.count)", "error": "\(error)"])
                // What the peer already answered for (the envelopes before the receipts) is settled.
                if !acks.isEmpty { _ = try? await gateway.queue.ack(participant: outbox, acks) }
                for message in messages {
                    try? await gateway.queue.nack(participant: outbox, leaseToken: message.leaseToken, error: "transfer failed: \(error)")
                }
                // Back-off of the whole forwarder (every lane), so that a peer that is down costs little.
                try? await Task.sleep(for: pace.failed())
            }
        }
        await flush()
    }

    /// Posts the envelopes, then the receipts, of one leased batch and settles each message: dead
    /// letters and nacks at once, acks added to `acks`, for the lane to store with its next lease.
    /// Returns true when the peer answered 413 (the batch was given back, to be sent smaller).
    /// Every call to the peer ends by `deadline` (the transfer's share of its lease).
    func transfer(
        _ messages: [LeasedMessage], to peer: DirectoryNode, deadline: ContinuousClock.Instant, settling acks: inout [Acknowledgement]
    ) async throws -> Bool {
        let outbox = Outbox.destination(node: peer.id)
        let receipts = messages.filter { $0.kind == Forwarded.receiptKind }
        let envelopes = messages.filter { $0.kind != Forwarded.receiptKind }
        for (group, path, member) in [(envelopes, "/v1/federation/envelopes", "envelopes"), (receipts, "/v1/federation/receipts", "receipts")]
        where !group.isEmpty {
            var body: [UInt8] = Array("{\"\(member)\":[".utf8)
            for (index, message) in group.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: message.envelope)
            }
            body.append(contentsOf: "]}".utf8)
            let answer = try await client.post(peer, path: path, body: body, deadline: deadline)
            if answer.status == 413 {
                for message in group {
                    try? await gateway.queue.nack(participant: outbox, leaseToken: message.leaseToken, error: "the peer answered 413: sent again in smaller batches")
                }
                return true
            }
            guard answer.status == 200, let json = try? JSONParser.parse(answer.body), let results = json["results"]?.arrayValue,
                results.count == group.count
            else {
                throw PeerClient.Failure(description: "\(peer.url)\(path): answered \(answer.status) without the contract's results")
            }
            // A newer directory at the peer is fetched (and adopted if it passes acceptance) before
            // anything of this answer is settled, so that a re-route follows the directory adopted.
            let peerSerial = json["directorySerial"]?.numberValue?.intValue ?? -1
            if peerSerial > directory.current.serial {
                let fetched = await fetchDirectory(from: peer, deadline: deadline)
                if !fetched && results.contains(where: { $0["reason"]?.stringValue == "not-hosted-here" }) {
                    throw PeerClient.Failure(description: "\(peer.url): answered not-hosted-here with directory serial \(peerSerial), which cannot be fetched")
                }
            }
            for (message, result) in zip(group, results) {
                let status = result["status"]?.stringValue ?? ""
                switch status {
                case "accepted", "duplicate":
                    acks.append(Acknowledgement(leaseToken: message.leaseToken))
                    gateway.metrics.transfer(peer: peer.id, result: status)
                case "rejected":
                    var reason = result["reason"]?.stringValue ?? "rejected"
                    gateway.metrics.transfer(peer: peer.id, result: "rejected")
                    if reason == "not-hosted-here", message.kind != Forwarded.receiptKind {
                        switch reroute(message, refusedBy: peer, peerSerial: peerSerial) {
                        case .settle(let ack):
                            acks.append(ack)
                            continue
                        case .deadLetter(let why):
                            reason += why
                        }
                    }
                    gateway.logger.warning(
                        "a peer rejected a message: it is a dead letter until replayed",
                        metadata: ["peer": .string(peer.id), "envelopeId": .string(message.envelopeId), "reason": .string(reason)])
                    try? await gateway.queue.deadLetter(participant: outbox, leaseToken: message.leaseToken, reason: "rejected by \(peer.id): \(reason)")
                default:
                    try? await gateway.queue.nack(participant: outbox, leaseToken: message.leaseToken, error: "the peer answered status \(status)")
                }
            }
            state.succeeded(peer: peer.id)
        }
        return false
    }

    /// What becomes of an envelope that `peer` refused as `not-hosted-here` (federation.md, Store
    /// and forward: "except `not-hosted-here` from a peer with a newer directory, which re-routes").
    enum Reroute {
        /// Settle it from the peer's outbox with this ack (which forwards it, when other nodes now
        /// host members of its `to`, in the same transaction).
        case settle(Acknowledgement)
        /// A dead letter: the peer's refusal, followed by why it is not re-routed.
        case deadLetter(String)
    }

    /// The re-route of `message`, refused by `peer` as `not-hosted-here` in an answer naming
    /// directory serial `peerSerial` (already fetched and, if it passed acceptance, adopted).
    ///
    /// It re-routes when the directory held now is at least as new as the peer's and gives the peer
    /// none of the envelope's `to`: the envelope was routed under an older directory. The same
    /// signed envelope, unchanged, then goes to the outbox of every other node that now hosts a
    /// member of `to`, enqueued by the ack that settles this message (one transaction: a crash
    /// leaves it either here or there). A member this node now hosts already has its message here
    /// (the one that waited for the receipt, now in its inbox). When no node hosts any member, or
    /// the peer's directory is not the one held, it is a dead letter, replayable after a fix.
    func reroute(_ message: LeasedMessage, refusedBy peer: DirectoryNode, peerSerial: Int) -> Reroute {
        let current = directory.current
        guard peerSerial <= current.serial else {
            return .deadLetter(" (the peer holds directory serial \(peerSerial), which this node has not adopted: it holds \(current.serial))")
        }
        guard let envelope = try? Envelope(json: JSONParser.parse(message.envelope)), let envelopeId = envelope.id else {
            return .deadLetter(" (the envelope cannot be read to re-route it)")
        }
        let hosts = envelope.to.compactMap { current.node(hosting: $0)?.id }
        guard !hosts.contains(peer.id) else {
            return .deadLetter(" (directory serial \(current.serial) still gives \(peer.id) a recipient)")
        }
        guard !hosts.isEmpty else {
            return .deadLetter(" (no node of directory serial \(current.serial) hosts any of its recipients)")
        }
        var nodes: [String] = []
        for node in hosts where node != directory.node.id && !nodes.contains(node) { nodes.append(node) }
        let settled = "not-hosted-here at \(peer.id) (directory serial \(peerSerial)); re-routed to "
            + (nodes.isEmpty ? "this node" : nodes.joined(separator: ", "))
        gateway.logger.notice(
            "re-routed an envelope a peer does not host any more",
            metadata: [
                "peer": .string(peer.id), "envelopeId": .string(envelopeId), "directorySerial": "\(current.serial)",
                "to": .string(nodes.isEmpty ? directory.node.id : nodes.joined(separator: ",")),
            ])
        guard !nodes.isEmpty else {
            return .settle(Acknowledgement(leaseToken: message.leaseToken, outcome: .rejected(reason: settled)))
        }
        let id = Forwarded.rerouteId(envelopeId: envelopeId, serial: current.serial)
        let item = EnqueueItem(
            envelopeId: id, kind: message.kind, recordId: message.recordId, updatedAt: message.updatedAt,
            payloadDigest: Forwarded.digest(Array(id.utf8)), destinations: nodes.map(Outbox.destination(node:)), envelope: message.envelope)
        return .settle(
            Acknowledgement(
                leaseToken: message.leaseToken, outcome: .rejected(reason: settled),
                forward: Acknowledgement.Forward(submitter: message.submitter, item: item)))
    }

    /// Every `directoryPollSeconds`: the peer's directory and both its CRLs, each adopted when it
    /// passes acceptance (a directory) or is signed by the right root with a higher crlNumber (a CRL).
    func poll(_ peerID: String) async {
        let interval = Duration.seconds(directory.node.directoryPollSeconds)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let peer = directory.current.node(id: peerID) else { continue }
            await fetchDirectory(from: peer)
            await fetchCRL(from: peer, path: "/v1/federation/crl", root: .signing)
            await fetchCRL(from: peer, path: "/v1/federation/tls-crl", root: .tls)
        }
    }

    /// Adopts a peer's CRL of `root` when it is signed by that root and newer than the one held.
    func fetchCRL(from peer: DirectoryNode, path: String, root: PKIRoot) async {
        guard let tls = gateway.nodeTLS, let answer = try? await client.get(peer, path: path), answer.status == 200,
            let offered = try? CertificateRevocationList(pem: answer.body)
        else { return }
        let pki = PKIDirectory(path: gateway.configuration.pkiPath)
        let rootPath = root == .tls ? tls.rootPath : pki.caCertificatePath
        let heldPath = root == .tls ? tls.crlPath : pki.crlPath
        guard let anchor = try? Certificate(file: rootPath), offered.isSigned(by: anchor), let number = offered.number else { return }
        let held = (try? CertificateRevocationList(file: heldPath))?.number ?? -1
        guard number > held else { return }
        do {
            if root == .tls {
                try tls.adopt(crl: offered)
            } else {
                try FileBytes.write(try offered.pem(), to: heldPath)
            }
            gateway.logger.notice(
                "adopted a CRL from a peer", metadata: ["peer": .string(peer.id), "root": .string(root.rawValue), "crlNumber": "\(number)"])
        } catch {
            gateway.logger.warning("a CRL from a peer cannot be kept", metadata: ["peer": .string(peer.id), "error": "\(error)"])
        }
    }

    /// Asks a peer for its directory and adopts it if it passes acceptance (before it returns).
    /// False when the peer served none (no answer, or not 200).
    @discardableResult
    func fetchDirectory(from peer: DirectoryNode, deadline: ContinuousClock.Instant? = nil) async -> Bool {
        guard let answer = try? await client.get(peer, path: "/v1/federation/directory", deadline: deadline), answer.status == 200 else { return false }
        directory.adopt(answer.body, from: peer.id)
        return true
    }
}


// The child process of the queue crash test (Tests/GatewayQueueSQLiteTests/CrashTests.swift).
//
//     xgw-queue-crash-helper DATABASE RUN
//
// Opens the SQLite queue at DATABASE and writes, leases, acks and nacks under load until it is
// killed. After each call returns it prints, flushed, what the queue acknowledged:
//
//     E <envelopeId> <recordId> <digest> <destinations,…>   a new envelope was enqueued
//     D <envelopeId>                                        a re-submission was reported duplicate
//     A <messageId> <envelopeId>                            an ack was stored
//
// The parent kills it with SIGKILL at a random moment and checks the file against these lines.
import Foundation
import GatewayQueue
import GatewayQueueSQLite

let arguments = CommandLine.arguments
guard arguments.count == 3, let run = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: xgw-queue-crash-helper DATABASE RUN\n".utf8))
    exit(64)
}

func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let participants = ["renshi", "xinsheng"]
let queue = try SQLiteMessageQueue(
    path: arguments[1],
    configuration: QueueConfiguration(retry: RetryPolicy(baseDelay: 0.01, maxDelay: 0.05, maxDeliveries: 10)))
var generator = SystemRandomNumberGenerator()
var sequence = 0
var enqueued: [EnqueueItem] = []
emit("ready")
while true {
    // A document of 1…60 records, some records updated several times (FIFO groups).
    let size = Int.random(in: 1...60, using: &generator)
    var items: [EnqueueItem] = []
    for _ in 0..<size {
        sequence += 1
        let recordId = "run\(run)-r\(sequence % 40)"
        let digest = "run\(run)-d\(sequence)"
        let destinations = Int.random(in: 0..<4, using: &generator) == 0 ? participants : [participants[sequence % 2]]
        let envelopeId = "\(run)-\(sequence)-\(UUID().uuidString.lowercased())"
        items.append(EnqueueItem(
            envelopeId: envelopeId, kind: "traffic-violation", recordId: recordId,
            updatedAt: String(format: "2026-01-01T00:%02d:%02dZ", sequence / 60 % 60, sequence % 60),
            payloadDigest: digest, destinations: destinations,
            envelope: Array("{\"id\":\"\(envelopeId)\",\"pad\":\"\(String(repeating: "x", count: 1500))\"}".utf8)))
    }
    // Re-submit an earlier item now and then: it must come back as a duplicate.
    if let earlier = enqueued.randomElement(using: &generator), Bool.random(using: &generator) {
        var again = earlier
        again.envelopeId = "\(run)-again-\(UUID().uuidString.lowercased())"
        items.append(again)
    }
    let results = try await queue.enqueue(submitter: "renshi-office", items: items)
    for (item, result) in zip(items, results) {
        if result.duplicate {
            emit("D \(result.envelopeId)")
        } else {
            emit("E \(item.envelopeId) \(item.recordId) \(item.payloadDigest) \(item.destinations.joined(separator: ","))")
            enqueued.append(item)
        }
    }
    for participant in participants {
        let leased = try await queue.lease(participant: participant, max: 50, visibility: 0.5)
        // Most are acked in one batch, some nacked, some left to expire.
        var acks: [LeasedMessage] = []
        for message in leased {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: try await queue.nack(participant: participant, leaseToken: message.leaseToken, error: "torture nack")
            case 1: break
            default: acks.append(message)
            }
        }
        let refused = try await queue.ack(
            participant: participant, acks.map { Acknowledgement(leaseToken: $0.leaseToken, receipt: Array("r".utf8)) })
        for (message, error) in zip(acks, refused) where error == nil {
            emit("A \(message.messageId) \(message.envelopeId)")
        }
    }
}

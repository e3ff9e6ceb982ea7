import Foundation
import Testing
import TestSupport

/// `xgw bench federation` through the built binary: the lines it prints (not their timings).
@Suite(.serialized) struct BenchFederationTests {
    @Test func printsTheRunsTheRatioAndTheTransferPercentilesOfEachAlgorithm() throws {
        let run = try TestBinary.run("xgw", ["bench", "federation", "--records", "200", "--rounds", "1"])
        #expect(run.status == 0, "\(run.error)")
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("command: xgw bench federation --records 200 --documents-of 100 --algorithms ES256,SM2-SM3 --rounds 1") == true, "\(run.output)")
        for algorithm in ["ES256", "SM2-SM3"] {
            let mine = lines.filter { $0.hasPrefix(algorithm + " ") }
            for mode in ["one-node", "federated"] {
                // alg, records per document, mode, round, then records/s, wall ms/rec and CPU ms/rec as numbers.
                let row = mine.first { $0.split(separator: " ").dropFirst(2).first == Substring(mode) }
                let fields = row?.split(separator: " ") ?? []
                #expect(fields.count == 7 && fields[1] == "100" && fields[3] == "1", "\(run.output)")
                #expect(fields.dropFirst(4).allSatisfy { Double($0).map { $0 > 0 } ?? false }, "\(run.output)")
            }
            #expect(mine.contains { $0.contains("ratio federated/one-node ") }, "\(run.output)")
            // The forwarder's observer saw the transfers: two batches of 100 at least (the warm-up's are left out).
            let transfer = mine.first { $0.contains("transfer renshi-node → xinsheng-node: ") }
            let batches = transfer.flatMap { line in
                line.components(separatedBy: "xinsheng-node: ").last?.split(separator: " ").first.flatMap { Int($0) }
            }
            #expect((batches ?? 0) >= 1, "\(run.output)")
            #expect(transfer?.contains(" p50 ") == true && transfer?.contains(" p99 ") == true, "\(run.output)")
            // Each record's latency in both modes, then the paced runs: their transfers, at least one
            // batch, and what federation adds to a record's latency.
            #expect(mine.contains { $0.contains("record latency (submit start → arrival) in these saturated runs: one-node p50 ") }, "\(run.output)")
            let paced = mine.first { $0.contains("paced runs (") }
            let pacedBatches = paced.flatMap { line in
                line.components(separatedBy: "xinsheng-node ").last?.split(separator: " ").first.flatMap { Int($0) }
            }
            #expect((pacedBatches ?? 0) >= 1 && paced?.contains("federation adds p50 ") == true, "\(run.output)")
            // The receiver's checks of a batch (the envelopes that arrived, all verified) and the lone batches.
            let checks = mine.first { $0.contains("receiver's signature checks of a batch of ") }
            #expect(checks.map { Self.milliseconds(in: $0).count == 2 && Self.milliseconds(in: $0).allSatisfy { $0 > 0 } } == true, "\(run.output)")
            let lone = mine.first { $0.contains("transfer of a batch alone ") }
            // 5 documents of 200, each sent alone: in at least 5 batches of at most 200 (the
            // forwarder may make them smaller, down to 100, when a transfer takes over 100 ms).
            let counts = lone.flatMap { line in
                line.components(separatedBy: "each waited for): ").last.map { $0.split(separator: " ").compactMap { Int($0) } }
            } ?? []
            #expect(counts.count >= 2 && counts[0] >= 5 && (100...200).contains(counts[1]), "\(run.output)")
        }
    }

    /// The numbers before " ms" in `line`.
    static func milliseconds(in line: String) -> [Double] {
        let words = line.split(separator: " ")
        return zip(words, words.dropFirst()).compactMap { $1.hasPrefix("ms") ? Double($0) : nil }
    }

    @Test func anUnknownAlgorithmIsAUsageError() throws {
        let run = try TestBinary.run("xgw", ["bench", "federation", "--records", "100", "--rounds", "1", "--algorithms", "RSA"])
        #expect(run.status == 64, "\(run.output) \(run.error)")
        #expect(run.error.contains("unknown algorithm RSA"), "\(run.error)")
    }
}

import Foundation
import GatewayModel
import GatewaySigning

extension SigningBenchmark {
    /// `xgw bench sign --batch N`: per algorithm, N envelopes sealed and verified as one batch
    /// (envelope.md, "Batch signatures") against the same N sealed and verified one by one, in
    /// interleaved rounds on one core. Verifying is what a receiving node does: parse the NDJSON
    /// line, `Envelope(json:)`, `verify` (certificate chain cached; the batch statement cache is
    /// emptied before each batch, so each batch pays its one signature check); a second line gives
    /// `verify` alone on envelopes already read.
    public func runBatch(size: Int, output: some BenchmarkOutput) throws {
        precondition(size >= 1)
        let records = (0..<size).map { index -> JSONValue in
            var record = Self.sampleRecord
            if case .object(var object) = record {
                object["recordId"] = .string("sc-traffic:51172300002\(String(format: "%05d", index))")
                record = .object(object)
            }
            return record
        }
        output.line("xgw bench sign --batch \(size): one core, thread CPU time, \(seconds) s per algorithm; records/s and µs per record")
        output.line("alg       seal 1by1   seal batch  ratio   verify 1by1  verify batch  ratio   µs/verify 1by1  µs/verify batch")
        output.flush()
        for algorithm in self.algorithm.map({ [$0] }) ?? SignatureAlgorithm.allCases {
            let office = try BenchOffice(algorithm, officeID: "xinsheng", commonName: "新盛镇川渝联合执法办公室")
            let signer = office.signer
            let trust = try TrustStore(roots: [office.root.certificate])
            let singles = try records.map { try Envelope.seal(record: $0, from: "xinsheng", to: ["renshi"], signer: signer).canonicalBytes() }
            let batch = try Envelope.sealBatch(records: records, from: "xinsheng", to: ["renshi"], signer: signer).map { $0.canonicalBytes() }
            func verifyAll(_ lines: [[UInt8]]) -> Bool {
                trust.batchStatements.removeAll()
                for line in lines {
                    guard let json = try? JSONParser.parse(line), let envelope = try? Envelope(json: json),
                          case .success = envelope.verify(trust: trust)
                    else { return false }
                }
                return true
            }
            // The same envelopes already read (`Envelope(json:)` of parsed lines, as a node holds
            // them after reading a request body): verify alone.
            let parsedSingles = try singles.map { try Envelope(json: try JSONParser.parse($0)) }
            let parsedBatch = try batch.map { try Envelope(json: try JSONParser.parse($0)) }
            func verifyParsed(_ envelopes: [Envelope]) -> Bool {
                trust.batchStatements.removeAll()
                return envelopes.allSatisfy { if case .success = $0.verify(trust: trust) { true } else { false } }
            }
            let rates = measureRounds([
                { records.allSatisfy { (try? Envelope.seal(record: $0, from: "xinsheng", to: ["renshi"], signer: signer)) != nil } },
                { (try? Envelope.sealBatch(records: records, from: "xinsheng", to: ["renshi"], signer: signer))?.count == size },
                { verifyAll(singles) },
                { verifyAll(batch) },
                { verifyParsed(parsedSingles) },
                { verifyParsed(parsedBatch) },
            ]).map { $0 * Double(size) }
            let (sealSingle, sealBatch, verifySingle, verifyBatch) = (rates[0], rates[1], rates[2], rates[3])
            output.line(
                algorithm.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "%-11.0f %-11.0f %-7.1f %-12.0f %-13.0f %-7.1f %-15.1f %-8.1f",
                             sealSingle, sealBatch, sealBatch / sealSingle, verifySingle, verifyBatch, verifyBatch / verifySingle,
                             1e6 / verifySingle, 1e6 / verifyBatch))
            output.line(String(
                format: "          verify alone (envelopes already parsed): 1by1 %.0f/s, batch %.0f/s, ratio %.1f, %.1f vs %.1f µs/record",
                rates[4], rates[5], rates[5] / rates[4], 1e6 / rates[4], 1e6 / rates[5]))
            output.flush()
        }
        if size == 100 && (self.algorithm ?? .sm2sm3) == .sm2sm3 {
            output.line("goal (issue 18): verifying a batch of 100 SM2-SM3 envelopes ≥ 10× faster than one by one (the ratio column)")
        }
    }
}

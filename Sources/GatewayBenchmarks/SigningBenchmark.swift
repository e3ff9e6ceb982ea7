import Foundation
import GatewayModel
import GatewaySigning

/// `xgw bench sign`: per algorithm, the raw OpenSSL EVP sign/verify rate on a small message next to
/// xgw's envelope seal/verify rate, measured in the same process on one core.
public struct SigningBenchmark {
    /// Seconds to measure each figure for, in interleaved rounds.
    public var seconds: Double
    /// Only this algorithm (default: every one).
    public var algorithm: SignatureAlgorithm?
    /// Also show what each step of sealing costs.
    public var breakdown: Bool
    /// Seconds each `openssl speed` run lasts; it runs before, between and after the rounds of
    /// each algorithm (`parts` + 1 times), its mean is the seal/speed figure's reference. 0: not run.
    public var floorSeconds: Int
    /// The measuring time of each algorithm is split into this many parts, `openssl speed` between them.
    static let parts = 3

    public init(seconds: Double, algorithm: SignatureAlgorithm?, breakdown: Bool, floorSeconds: Int = 1) {
        self.seconds = seconds
        self.algorithm = algorithm
        self.breakdown = breakdown
        self.floorSeconds = floorSeconds
    }

    public func run(output: some BenchmarkOutput) throws {
        let record = Self.sampleRecord
        if breakdown { steps(of: record, output: output) }
        output.line("xgw bench sign: one core, thread CPU time, \(seconds) s per figure, payload \(record.canonicalBytes().count) bytes JCS")
        output.line(
            "alg       raw sign/s  copied/s    seal/s    seal/raw  seal/copied raw verify/s  verify/s  verify/raw  µs/seal  speed sign/s  seal/speed")
        output.flush()
        for algorithm in self.algorithm.map({ [$0] }) ?? SignatureAlgorithm.allCases {
            let office = try BenchOffice(algorithm, officeID: "xinsheng", commonName: "新盛镇川渝联合执法办公室")
            let signer = office.signer
            let key = signer.key
            let trust = try TrustStore(roots: [office.root.certificate])
            let sample = try Envelope.seal(record: record, from: "xinsheng", to: ["renshi"], signer: signer)
            let message = JSONValue.object(sample.header).canonicalBytes()
            let text = sample.json.canonicalBytes()
            let raw = try RawEVP(privateKeyPEM: key.pem(), publicKeyPEM: key.publicKey.pem(), algorithm: algorithm)

            let signature = raw.signature(message)
            if breakdown {
                let rates = measureRounds([
                    { raw.sign(message) }, { (try? key.sign(message)) != nil },
                    { (try? Envelope.seal(record: record, from: "xinsheng", to: ["renshi"], signer: signer)) != nil },
                ])
                output.line(String(
                    format: "%@: raw %.1f µs, PrivateKey.sign (copied context) %.1f µs, seal %.1f µs: %.1f µs besides signing",
                    algorithm.rawValue, 1e6 / rates[0], 1e6 / rates[1], 1e6 / rates[2], 1e6 / rates[2] - 1e6 / rates[1]))
            }
            // Interleaved rounds, median of each: other load on the machine hits every figure alike;
            // `openssl speed` runs before, between and after them (issue 18: seal vs openssl speed).
            var speeds: [Double] = []
            let rates = measureRounds(parts: floorSeconds > 0 ? Self.parts : 1, between: {
                if floorSeconds > 0, let rate = OpenSSLSpeed.signRate(algorithm, seconds: floorSeconds) { speeds.append(rate) }
            }, [
                { raw.sign(message) },
                { raw.signCopied(message) },
                { (try? Envelope.seal(record: record, from: "xinsheng", to: ["renshi"], signer: signer)) != nil },
                { raw.verify(signature, message) },
                {
                    guard let json = try? JSONParser.parse(text), let envelope = try? Envelope(json: json) else { return false }
                    if case .success = envelope.verify(trust: trust) { return true }
                    return false
                },
            ] + (algorithm == .es256 ? [{ raw.signKept(message) }, { (try? key.sign(message)) != nil }] : []))
            let (rawSign, copiedSign, seal, rawVerify, verify) = (rates[0], rates[1], rates[2], rates[3], rates[4])
            let speed = speeds.isEmpty ? nil : speeds.reduce(0, +) / Double(speeds.count)
            output.line(
                algorithm.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "%-11.0f %-11.0f %-9.0f %-9.1f %-11.1f %-13.0f %-9.0f %-11.1f %-8.1f",
                             rawSign, copiedSign, seal, seal / rawSign * 100, seal / copiedSign * 100,
                             rawVerify, verify, verify / rawVerify * 100, 1e6 / seal)
                    + (speed.map { String(format: " %-13.0f %.2f", $0, seal / $0) } ?? " -             -"))
            output.flush()
            if rates.count == 7 {
                output.line(String(
                    format: "%@: in this process, EVP_PKEY_sign of the SHA-256 on a kept context (openssl speed's way) %.0f/s, PrivateKey.sign %.0f/s (%.2f of it), seal %.2f of it",
                    algorithm.rawValue, rates[5], rates[6], rates[6] / rates[5], seal / rates[5]))
            }
            if !speeds.isEmpty {
                output.line(String(
                    format: "%@: openssl speed -seconds %d %@: %@ signs/s", algorithm.rawValue, floorSeconds, OpenSSLSpeed.name(algorithm),
                    speeds.map { String(format: "%.0f", $0) }.joined(separator: ", ")))
            }
        }
        if floorSeconds > 0, self.algorithm ?? .es256 == .es256 {
            output.line("goal (issue 18): ES256 seal/speed ≥ 0.85")
        }
    }

    /// `measureRounds` split into `parts` parts, `between` run before, between and after them; the
    /// median of each operation over all the parts' batches.
    func measureRounds(parts: Int, between: () -> Void, _ bodies: [() -> Bool]) -> [Double] {
        var samples = [[Double]](repeating: [], count: bodies.count)
        for _ in 0..<parts {
            between()
            let part = measureSamples(bodies, seconds: seconds / Double(parts))
            for index in bodies.indices { samples[index] += part[index] }
        }
        between()
        return samples.map(Self.medianRate)
    }

    /// Rates of `bodies` measured together: small timed batches of each in turn for `seconds`,
    /// then, per operation, the median batch time. Interleaving exposes every operation to the same
    /// load from other processes, and the median ignores batches that were preempted.
    func measureRounds(_ bodies: [() -> Bool], seconds: Double? = nil) -> [Double] {
        measureSamples(bodies, seconds: seconds ?? self.seconds).map(Self.medianRate)
    }

    /// Operations per second from the median of per-operation batch times.
    static func medianRate(_ times: [Double]) -> Double {
        let sorted = times.sorted()
        return 1 / sorted[sorted.count / 2]
    }

    /// Per operation, the CPU seconds per operation of each timed batch (`measureRounds`).
    func measureSamples(_ bodies: [() -> Bool], seconds: Double) -> [[Double]] {
        // Batch sizes that take about a millisecond each.
        let batch = bodies.map { body -> Int in
            let start = DispatchTime.now().uptimeNanoseconds
            var count = 0
            while DispatchTime.now().uptimeNanoseconds - start < 50_000_000 {
                precondition(body(), "benchmark operation failed")
                count += 1
            }
            return max(1, count / 50)
        }
        var samples = [[Double]](repeating: [], count: bodies.count)
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            for (index, body) in bodies.enumerated() {
                // Thread CPU time: time the thread spent preempted by other processes doesn't count.
                let start = CPUTime.thread()
                for _ in 0..<batch[index] { precondition(body(), "benchmark operation failed") }
                samples[index].append((CPUTime.thread() - start) / Double(batch[index]))
            }
        }
        return samples
    }

    /// Operations per second of `body` (which must return true: a failing operation aborts).
    func measure(_ body: @escaping () -> Bool, seconds: Double? = nil) -> Double {
        measureRounds([body], seconds: seconds ?? self.seconds)[0]
    }

    /// A canonical traffic record of typical size.
    static let sampleRecord: JSONValue = [
        "kind": "traffic-violation", "schemaVersion": 1, "recordId": "sc-traffic:5117230000210001",
        "source": ["region": "sichuan", "system": "sc-traffic", "format": "sc-traffic-xml/1"],
        "updatedAt": "2023-07-11T08:31:02+08:00",
        "vehicle": ["plate": "川A12345", "plateType": "02"],
        "driver": ["name": "张三", "idNumber": "511723199001011233"],
        "occurredAt": "2023-07-11T08:30:00+08:00",
        "location": ["divisionCode": "511723107", "address": "任市镇中心街与滨河路交叉口"],
        "violation": ["code": "1345", "description": "机动车违反禁令标志指示"],
        "penalty": ["fineFen": 20000, "points": 3], "capture": "site", "status": "pending",
        "agency": ["code": "511723000000", "name": "开江县公安局交通警察大队"],
    ]
}

import ArgumentParser
import COpenSSL
import Foundation
import GatewayModel
import GatewaySigning

/// `xgw bench sign`: per algorithm, the raw OpenSSL EVP sign/verify rate on a small message next to
/// xgw's envelope seal/verify rate, measured in the same process on one core.
struct BenchSign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Measure envelope seal/verify rates per algorithm next to raw OpenSSL sign/verify, one core.",
        discussion: """
            raw: EVP_MD_CTX_new + EVP_DigestSignInit_ex (+ EVP_PKEY_CTX_set1_id for SM2) + EVP_DigestSign + free, \
            on the JCS bytes of an envelope header (the message xgw signs). copied: the fastest plain EVP path, \
            a context initialised once and copied per signature (EVP_MD_CTX_copy_ex, EVP_MD_CTX_FLAG_FINALISE, \
            EVP_DigestSign). For the machine's reference figures run `openssl speed -seconds 3 ecdsap256 ed25519 sm2` \
            in the same session. seal: Envelope.seal on a canonical \
            traffic record (JCS of the payload, digest, UUIDv7, JCS of the header, signature, base64). \
            verify: parse of the envelope text, Envelope(json:), verify (JCS, digest, signature; certificate chain \
            cached after the first envelope).
            """)

    @Option(help: "Seconds to measure each figure for, in five interleaved rounds.")
    var seconds = 3.0

    @Option(help: "Only this algorithm.")
    var alg: SignatureAlgorithm?

    @Flag(help: "Also show what each step of sealing costs (µs).")
    var breakdown = false

    func run() async throws {
        let record = Self.sampleRecord
        if breakdown {
            let header = JSONValue.object(JSONObject(["version": 1, "id": .string(UUIDv7.generate()), "kind": "traffic-violation",
                "recordId": "sc-traffic:5117230000210001", "from": "xinsheng", "to": ["renshi"],
                "createdAt": .string(Timestamp.string(Date())), "payloadDigest": ["alg": "sm3", "value": .string(String(repeating: "a", count: 64))]]))
            let payloadBytes = record.canonicalBytes()
            let steps: [(String, () -> Bool)] = [
                ("payload JCS", { !record.canonicalBytes().isEmpty }),
                ("SM3 of payload", { !Digest.compute(.sm3, payloadBytes).isEmpty }),
                ("SHA-256 of payload", { !Digest.compute(.sha256, payloadBytes).isEmpty }),
                ("UUIDv7", { !UUIDv7.generate().isEmpty }),
                ("timestamp", { !Timestamp.string(Date()).isEmpty }),
                ("header JCS (generic)", { !header.canonicalBytes().isEmpty }),
                ("base64 of 72 bytes", { !Data(payloadBytes.prefix(72)).base64EncodedString().isEmpty }),
                ("header object", {
                    JSONObject(["version": 1, "id": "x", "kind": "traffic-violation", "recordId": "r", "from": "xinsheng",
                        "to": .array(["renshi"].map { .string($0) }), "createdAt": "t",
                        "payloadDigest": .object(JSONObject(["alg": "sha256", "value": "v"]))]).count == 8
                }),
            ]
            for (name, body) in steps {
                Console.out.line(name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%.2f µs", 1e6 / measure(body)))
            }
            Console.out.flush()
        }
        Console.out.line("xgw bench sign: one core, thread CPU time, \(seconds) s per figure, payload \(record.canonicalBytes().count) bytes JCS")
        Console.out.line(
            "alg       raw sign/s  copied/s    seal/s    seal/raw  seal/copied raw verify/s  verify/s  verify/raw  µs/seal")
        Console.out.flush()
        for algorithm in alg.map({ [$0] }) ?? SignatureAlgorithm.allCases {
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
                Console.out.line(String(
                    format: "%@: raw %.1f µs, PrivateKey.sign (copied context) %.1f µs, seal %.1f µs: %.1f µs besides signing",
                    algorithm.rawValue, 1e6 / rates[0], 1e6 / rates[1], 1e6 / rates[2], 1e6 / rates[2] - 1e6 / rates[1]))
            }
            // Interleaved rounds, median of each: other load on the machine hits every figure alike.
            let rates = measureRounds([
                { raw.sign(message) },
                { raw.signCopied(message) },
                { (try? Envelope.seal(record: record, from: "xinsheng", to: ["renshi"], signer: signer)) != nil },
                { raw.verify(signature, message) },
                {
                    guard let json = try? JSONParser.parse(text), let envelope = try? Envelope(json: json) else { return false }
                    if case .success = envelope.verify(trust: trust) { return true }
                    return false
                },
            ])
            let (rawSign, copiedSign, seal, rawVerify, verify) = (rates[0], rates[1], rates[2], rates[3], rates[4])
            Console.out.line(
                algorithm.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "%-11.0f %-11.0f %-9.0f %-9.1f %-11.1f %-13.0f %-9.0f %-11.1f %-8.1f",
                             rawSign, copiedSign, seal, seal / rawSign * 100, seal / copiedSign * 100,
                             rawVerify, verify, verify / rawVerify * 100, 1e6 / seal))
            Console.out.flush()
        }
    }

    /// Rates of `bodies` measured together: small timed batches of each in turn for `seconds`,
    /// then, per operation, the median batch time. Interleaving exposes every operation to the same
    /// load from other processes, and the median ignores batches that were preempted.
    private func measureRounds(_ bodies: [() -> Bool], seconds: Double? = nil) -> [Double] {
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
        let end = DispatchTime.now().uptimeNanoseconds + UInt64((seconds ?? self.seconds) * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            for (index, body) in bodies.enumerated() {
                // Thread CPU time: time the thread spent preempted by other processes doesn't count.
                let start = CPUTime.thread()
                for _ in 0..<batch[index] { precondition(body(), "benchmark operation failed") }
                samples[index].append((CPUTime.thread() - start) / Double(batch[index]))
            }
        }
        return samples.map { times in
            let sorted = times.sorted()
            return 1 / sorted[sorted.count / 2]
        }
    }

    /// Operations per second of `body` (which must return true: a failing operation aborts).
    private func measure(_ body: @escaping () -> Bool, seconds: Double? = nil) -> Double {
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

/// The raw OpenSSL path the benchmark compares against: keys parsed once, one EVP context per operation.
private final class RawEVP: @unchecked Sendable {
    let privateKey: OpaquePointer
    let publicKey: OpaquePointer
    let digest: String?
    let isSM2: Bool
    /// A signing context initialised once (`signCopied`).
    let signTemplate: OpaquePointer?
    static let id: [UInt8] = Array("1234567812345678".utf8)

    init(privateKeyPEM: [UInt8], publicKeyPEM: [UInt8], algorithm: SignatureAlgorithm) throws {
        func read<T>(_ pem: [UInt8], _ reader: (OpaquePointer) -> T?) throws -> T {
            try pem.withUnsafeBytes { raw in
                guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { throw Exit.software }
                defer { BIO_free(bio) }
                guard let value = reader(bio) else { throw Exit.software }
                return value
            }
        }
        privateKey = try read(privateKeyPEM) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        publicKey = try read(publicKeyPEM) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        digest = switch algorithm {
        case .sm2sm3: "SM3"
        case .es256: "SHA256"
        case .ed25519: nil
        }
        isSM2 = algorithm == .sm2sm3
        signTemplate = EVP_MD_CTX_new()
        var pctx: OpaquePointer? = nil
        guard EVP_DigestSignInit_ex(signTemplate, &pctx, digest, nil, nil, privateKey, nil) == 1,
              !isSM2 || EVP_PKEY_CTX_set1_id(pctx, Self.id, Int32(Self.id.count)) == 1
        else { throw Exit.software }
    }

    deinit {
        EVP_MD_CTX_free(signTemplate)
        EVP_PKEY_free(privateKey)
        EVP_PKEY_free(publicKey)
    }

    func signature(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 160)
        var length = out.count
        let md = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestSignInit_ex(md, &pctx, digest, nil, nil, privateKey, nil) == 1,
              !isSM2 || EVP_PKEY_CTX_set1_id(pctx, Self.id, Int32(Self.id.count)) == 1,
              EVP_DigestSign(md, &out, &length, message, message.count) == 1
        else { return [] }
        return Array(out.prefix(length))
    }

    func sign(_ message: [UInt8]) -> Bool { !signature(message).isEmpty }

    /// The fastest plain EVP path: a context initialised once, copied per signature, marked for one
    /// use (`EVP_MD_CTX_FLAG_FINALISE`, so the final step doesn't duplicate it).
    func signCopied(_ message: [UInt8]) -> Bool {
        guard let template = signTemplate, let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        var out = [UInt8](repeating: 0, count: 160)
        var length = out.count
        guard EVP_MD_CTX_copy_ex(md, template) == 1 else { return false }
        EVP_MD_CTX_set_flags(md, EVP_MD_CTX_FLAG_FINALISE)
        return EVP_DigestSign(md, &out, &length, message, message.count) == 1
    }

    func verify(_ signature: [UInt8], _ message: [UInt8]) -> Bool {
        let md = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        return EVP_DigestVerifyInit_ex(md, &pctx, digest, nil, nil, publicKey, nil) == 1
            && (!isSM2 || EVP_PKEY_CTX_set1_id(pctx, Self.id, Int32(Self.id.count)) == 1)
            && EVP_DigestVerify(md, signature, signature.count, message, message.count) == 1
    }
}

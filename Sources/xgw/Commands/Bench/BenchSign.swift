import ArgumentParser
import GatewayBenchmarks
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
            EVP_DigestSign). The machine's reference figure \
            is openssl speed's, which bench sign runs itself (speed sign/s: `openssl speed -seconds S <alg>` run before, \
            between and after the rounds of each algorithm, S = --floor-seconds; seal/speed: seal/s ÷ its mean; issue 18's \
            goal for ES256: ≥ 0.85). seal: Envelope.seal on a canonical \
            traffic record (JCS of the payload, digest, UUIDv7, JCS of the header, signature, base64). \
            verify: parse of the envelope text, Envelope(json:), verify (JCS, digest, signature; certificate chain \
            cached after the first envelope). \
            With --batch N: N envelopes sealed and verified as one batch (one signature over a Merkle root, \
            envelope.md "Batch signatures") against the same N one by one, records/s and µs per record; \
            the batch's verified statement is forgotten before each batch, so each batch pays one signature check.
            """)

    @Option(help: "Seconds to measure each figure for, in five interleaved rounds.")
    var seconds = 3.0

    @Option(help: "Only this algorithm.")
    var alg: SignatureAlgorithm?

    @Option(help: "Seconds each openssl speed run lasts (four runs per algorithm; 0: openssl speed is not run).")
    var floorSeconds = 1

    @Flag(help: "Also show what each step of sealing costs (µs).")
    var breakdown = false

    @Option(help: ArgumentHelp("Compare sealing and verifying N envelopes as one batch with one by one.", valueName: "N"))
    var batch: Int?

    func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch needs a number of envelopes ≥ 1") }
        if floorSeconds < 0 { throw ValidationError("--floor-seconds needs a number of seconds ≥ 0") }
    }

    func run() async throws {
        let benchmark = SigningBenchmark(seconds: seconds, algorithm: alg, breakdown: breakdown, floorSeconds: floorSeconds)
        if let batch {
            try await BenchmarkError.reported { try benchmark.runBatch(size: batch, output: Console.out) }
            return
        }
        try await BenchmarkError.reported { try benchmark.run(output: Console.out) }
    }
}

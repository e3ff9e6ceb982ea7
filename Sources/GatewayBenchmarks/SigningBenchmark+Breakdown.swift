import Foundation
import GatewayModel
import GatewaySigning

extension SigningBenchmark {
    /// `--breakdown`: what each step of sealing costs on its own (µs), before the table. Sealing
    /// writes the header's JCS from its fields and base64-encodes without Foundation: the generic
    /// header JCS, the Foundation base64 and the header object are shown for comparison, the
    /// object being built only when someone reads `Envelope.header`.
    func steps(of record: JSONValue, output: some BenchmarkOutput) {
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
            ("base64 72 B (Fdn)", { !Data(payloadBytes.prefix(72)).base64EncodedString().isEmpty }),
            ("header object (read)", {
                JSONObject(["version": 1, "id": "x", "kind": "traffic-violation", "recordId": "r", "from": "xinsheng",
                    "to": .array(["renshi"].map { .string($0) }), "createdAt": "t",
                    "payloadDigest": .object(JSONObject(["alg": "sha256", "value": "v"]))]).count == 8
            }),
        ]
        for (name, body) in steps {
            output.line(name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%.2f µs", 1e6 / measure(body)))
        }
        output.flush()
    }
}

import Foundation
import GatewayModel
import Testing
@testable import GatewaySigning

/// The seal path's shortcuts (header kept as fields and written straight to JCS, the payload
/// digested in the writer, base64 and hex without Foundation) give what the plain way gives.
@Suite struct SealPathTests {
    @Test func base64MatchesFoundationAtEveryLengthAndByte() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...200 {
            for _ in 0..<4 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                #expect(Base64Text.encode(bytes) == Data(bytes).base64EncodedString(), "\(bytes)")
            }
        }
        let every = (0...255).map { UInt8($0) }
        #expect(Base64Text.encode(every) == Data(every).base64EncodedString())
    }

    @Test func digestHexOfARawBufferIsTheHexOfTheDigest() {
        for algorithm in DigestAlgorithm.allCases {
            for text in ["", "a", String(repeating: "记录", count: 300)] {
                let bytes = Array(text.utf8)
                let expected = Hex.encode(Digest.compute(algorithm, bytes))
                #expect(bytes.withUnsafeBytes { Digest.hex(algorithm, $0) } == expected)
                #expect(Digest.hex(algorithm, bytes) == expected)
            }
        }
    }

    /// A sealed envelope's header, read back, is the object `seal` always wrote (same members in
    /// the same order), its signed bytes are that object's JCS, and whatever names the header
    /// carries (quotes, controls, astral and U+E000... characters, several recipients) change
    /// nothing about that.
    @Test(arguments: SignatureAlgorithm.allCases)
    func sealedHeaderIsTheObjectAndItsJCS(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let names = ["xinsheng", "kind \"q\" \\ \u{1}\t", "记录:\u{1F600}\u{E000}\u{FF5E}", ""]
        for (index, name) in names.enumerated() {
            let to = Array(names.prefix(index + 1).reversed())
            let createdAt = Date(timeIntervalSince1970: 1_689_035_462)
            let envelope = try Envelope.seal(
                payload: TestSupport.record, kind: name, recordId: name + "-r", from: "xinsheng", to: to,
                createdAt: createdAt, id: "0189f7e2-0000-7000-8000-00000000000\(index)", signer: pki.xinsheng)
            let header = envelope.header
            #expect(header.keys == ["version", "id", "kind", "recordId", "from", "to", "createdAt", "payloadDigest"])
            #expect(header["kind"]?.stringValue == name && envelope.kind == name)
            #expect(header["recordId"]?.stringValue == name + "-r" && envelope.recordId == name + "-r")
            #expect(header["to"] == .array(to.map { .string($0) }) && envelope.to == to)
            #expect(header["createdAt"]?.stringValue == "2023-07-11T08:31:02+08:00")
            #expect(envelope.createdAt == "2023-07-11T08:31:02+08:00")
            #expect(envelope.id == "0189f7e2-0000-7000-8000-00000000000\(index)" && header["id"]?.stringValue == envelope.id)
            #expect(header["payloadDigest"] == envelope.payloadDigest)
            #expect(envelope.payloadDigest?["value"]?.stringValue == Digest.hex(algorithm.payloadDigest, TestSupport.record.canonicalBytes()))
            #expect(envelope.signedBytes == JSONValue.object(header).canonicalBytes())
            #expect(envelope.canonicalBytes() == envelope.json.canonicalBytes())
            #expect(envelope.payloadMatchesDigest)
            #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == nil)

            // Equal to the same envelope with its header held as an object, and to what its text reads as.
            let held = Envelope(header: header, payload: envelope.payload, signature: envelope.signature)
            #expect(held == envelope && held.hashValue == envelope.hashValue)
            let reread = try Envelope(json: JSONParser.parse(envelope.canonicalBytes()))
            #expect(reread.signedBytes == envelope.signedBytes && reread.canonicalBytes() == envelope.canonicalBytes())

            // Setting the header replaces the sealed fields everywhere.
            var changed = envelope
            changed.header["recordId"] = "other"
            #expect(changed.recordId == "other" && changed.kind == name)
            #expect(changed.signedBytes == JSONValue.object(changed.header).canonicalBytes())
            #expect(TestSupport.code(changed.verify(trust: pki.trust)) == .badSignature)
        }
    }
}

import Foundation
import GatewayModel
import Testing
@testable import GatewaySigning

/// Batch signatures (envelope.md, "Batch signatures"): RFC 9162 trees and paths, sealing and
/// verifying batches of envelopes and receipts, tampering, malformed `batch` members, the cache of
/// verified statements, and the openssl recipe of docs/security.md.
@Suite struct BatchSignatureTests {
    // MARK: RFC 9162 trees and paths

    /// RFC 9162 section 2.1.1 written out as recursion over slices, independently of `MerkleTree`.
    struct Reference {
        let algorithm: DigestAlgorithm

        func hash(_ bytes: [UInt8]) -> [UInt8] { Digest.compute(algorithm, bytes) }

        func mth(_ d: ArraySlice<[UInt8]>) -> [UInt8] {
            if d.count == 1 { return hash([0x00] + d.first!) }
            var k = 1
            while k * 2 < d.count { k *= 2 }
            return hash([0x01] + mth(d.prefix(k)) + mth(d.dropFirst(k)))
        }

        /// PATH(m, D[n]) of RFC 9162 section 2.1.3.1.
        func path(_ m: Int, _ d: ArraySlice<[UInt8]>) -> [[UInt8]] {
            if d.count == 1 { return [] }
            var k = 1
            while k * 2 < d.count { k *= 2 }
            if m < k { return path(m, d.prefix(k)) + [mth(d.dropFirst(k))] }
            return path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
        }
    }

    @Test(arguments: DigestAlgorithm.allCases)
    func pathsOfEveryIndexOfTreesOf1To70Leaves(_ algorithm: DigestAlgorithm) {
        let reference = Reference(algorithm: algorithm)
        let entries = (0..<70).map { Array("entry \($0) \(String(repeating: "x", count: $0))".utf8) }
        for size in 1...70 {
            let leaves = Array(entries.prefix(size))
            let (root, paths) = MerkleTree.build(leafHashes: leaves.map { MerkleTree.leafHash(algorithm, $0) }, algorithm)
            #expect(root == reference.mth(leaves[...]), "root of \(size)")
            #expect(paths.count == size)
            for index in 0..<size {
                let expected = reference.path(index, leaves[...])
                #expect(paths[index] == expected, "path of \(index) in \(size)")
                #expect(MerkleTree.pathLength(index: index, size: size) == expected.count)
                let leaf = MerkleTree.leafHash(algorithm, leaves[index])
                #expect(MerkleTree.root(leafHash: leaf, index: index, size: size, path: expected, algorithm) == root)
                // The same path for another index, a shorter or longer path, or another leaf does not give the root.
                for other in [index - 1, index + 1, size, size + 1, -1] where other != index {
                    #expect(MerkleTree.root(leafHash: leaf, index: other, size: size, path: expected, algorithm) != root)
                }
                if !expected.isEmpty {
                    #expect(MerkleTree.root(leafHash: leaf, index: index, size: size, path: expected.dropLast(), algorithm) == nil)
                }
                #expect(MerkleTree.root(leafHash: leaf, index: index, size: size, path: expected + [root], algorithm) == nil)
                let otherLeaf = MerkleTree.leafHash(algorithm, leaves[index] + [0x20])
                #expect(MerkleTree.root(leafHash: otherLeaf, index: index, size: size, path: expected, algorithm) != root)
            }
        }
    }

    /// The SHA-256 roots of the certificate-transparency test tree (leaves "", 00, 10, 2021, 3031,
    /// 40414243, 50…57, 60…6f) for 1 to 8 leaves.
    @Test func certificateTransparencyTestVectors() {
        let leaves: [[UInt8]] = [[], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
                                 Array(0x50...0x57), Array(0x60...0x6f)]
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
        for size in 1...8 {
            let (root, _) = MerkleTree.build(leafHashes: leaves.prefix(size).map { MerkleTree.leafHash(.sha256, $0) }, .sha256)
            #expect(Hex.encode(root) == roots[size - 1], "\(size) leaves")
        }
    }

    @Test func statementBytesAreTheJCSOfTheStatement() {
        for size in [1, 7, 100, 1_000_000] {
            let root = Digest.compute(.sm3, Array("root \(size)".utf8))
            let expected = JSONValue.object(JSONObject([
                "xgwBatch": .object(JSONObject([
                    "version": 1, "size": .number(JSONNumber(size)), "root": .string(Data(root).base64EncodedString()),
                ])),
            ])).canonicalBytes()
            #expect(BatchStatement.bytes(root: root, size: size) == expected)
        }
    }

    @Test func pathElementsDecodeOnlyAsCanonicalBase64() {
        for seed in 0..<200 {
            let hash = Digest.compute(.sha256, [UInt8(seed)])
            let text = Data(hash).base64EncodedString()
            #expect(BatchProof.hash(base64: text) == hash)
            // Every single-character change is refused or decodes to other bytes.
            var characters = Array(text.utf8)
            for position in characters.indices {
                let saved = characters[position]
                for replacement in Array("A/+z9=".utf8) where replacement != saved {
                    characters[position] = replacement
                    let changed = String(decoding: characters, as: UTF8.self)
                    #expect(BatchProof.hash(base64: changed) != hash, "\(changed)")
                    if let decoded = BatchProof.hash(base64: changed) {
                        #expect(Data(decoded).base64EncodedString() == changed)
                    }
                }
                characters[position] = saved
            }
        }
        for bad in ["", "=", String(repeating: "A", count: 44), String(repeating: "A", count: 43), String(repeating: "A", count: 42) + "==",
                    String(repeating: "A", count: 42) + "B=", " " + String(repeating: "A", count: 42) + "="] {
            #expect(BatchProof.hash(base64: bad) == nil, "\(bad)")
        }
    }

    // MARK: Sealing and verifying

    static func records(_ count: Int) -> [JSONValue] {
        (0..<count).map { index in
            var record = TestSupport.record
            if case .object(var object) = record {
                object["recordId"] = .string("sc-traffic:5100002023071100\(String(format: "%02d", index))")
                record = .object(object)
            }
            return record
        }
    }

    static func batch(_ pki: TestSupport.PKI, _ count: Int) throws -> [Envelope] {
        try Envelope.sealBatch(records: records(count), from: "xinsheng", to: ["renshi"], signer: pki.xinsheng)
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func aBatchVerifiesWithOneSignatureCheck(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let envelopes = try Self.batch(pki, 100)
        #expect(Set(envelopes.map(\.signature.value)).count == 1)
        for (index, envelope) in envelopes.enumerated() {
            let proof = try BatchProof(json: try #require(envelope.signature.batch))
            #expect(proof.size == 100 && proof.index == index)
            // Read back from its NDJSON line, as a receiver gets it.
            let reread = try Envelope(json: try JSONParser.parse(envelope.canonicalBytes()))
            #expect(reread.canonicalBytes() == envelope.canonicalBytes())
            #expect(TestSupport.code(reread.verify(trust: pki.trust)) == nil, "envelope \(index)")
        }
        #expect(pki.trust.batchStatements.statistics.signatureChecks == 1)
        #expect(pki.trust.batchStatements.statistics.hits == 99)
        // A single-signed envelope verifies next to them, without touching the cache.
        #expect(TestSupport.code(try pki.seal().verify(trust: pki.trust)) == nil)
        #expect(pki.trust.batchStatements.statistics.signatureChecks == 1)
        // A batch of one carries an empty path.
        let one = try Self.batch(pki, 1)[0]
        #expect(one.signature.batch?["path"]?.arrayValue == [])
        #expect(TestSupport.code(one.verify(trust: pki.trust)) == nil)
    }

    @Test func receiptsAndRecipientsInOneBatch() throws {
        let pki = try TestSupport.PKI(.sm2sm3)
        let records = Self.records(5)
        let envelopes = try Envelope.sealBatch(
            records.enumerated().map { Envelope.BatchItem(record: $1, to: $0 % 2 == 0 ? ["renshi"] : ["renshi", "kaijiang"]) },
            from: "xinsheng", signer: pki.xinsheng)
        #expect(envelopes.map(\.to.count) == [1, 2, 1, 2, 1])
        let receipts = try Receipt.issueBatch(
            envelopes.enumerated().map { Receipt.BatchItem(envelope: $1, outcome: $0 == 3 ? .rejected : .accepted, reason: $0 == 3 ? .digestMismatch : nil) },
            by: "renshi", signer: pki.renshi)
        for (receipt, envelope) in zip(receipts, envelopes) {
            #expect(receipt.acknowledges(envelope))
            let reread = try Receipt(json: try JSONParser.parse(receipt.json.canonicalBytes()))
            #expect(TestSupport.code(reread.verify(trust: pki.trust)) == nil)
            var changed = reread
            changed.header["receivedAt"] = "2023-07-11T08:31:06+08:00"
            #expect(TestSupport.code(changed.verify(trust: pki.trust)) == .badSignature)
        }
        #expect(receipts[3].reason == "digest-mismatch")
        // A receipt's batch proof does not make an envelope of the same index verify, nor the reverse.
        var swapped = envelopes[2]
        swapped.signature = receipts[2].signature
        #expect(TestSupport.code(swapped.verify(trust: pki.trust)) == .badSignature)
        var impostor = envelopes[2]
        impostor.signature = SignatureBlock(
            alg: receipts[2].signature.alg, keyId: envelopes[2].signature.keyId, certificate: envelopes[2].signature.certificate,
            value: receipts[2].signature.value, batch: receipts[2].signature.batch)
        #expect(TestSupport.code(impostor.verify(trust: pki.trust)) == .badSignature)
    }

    @Test(arguments: [SignatureAlgorithm.sm2sm3, .es256])
    func tamperingFailsAsBadSignature(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let size = 6
        let envelopes = try Self.batch(pki, size)
        for envelope in envelopes { #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == nil) }
        for (index, envelope) in envelopes.enumerated() {
            // Any leaf: every member of the header.
            for member in envelope.header.keys where member != "version" {
                var changed = envelope
                changed.header[member] = member == "to" ? ["renshi", "kaijiang"] : member == "payloadDigest"
                    ? .object(JSONObject(["alg": .string(algorithm.payloadDigest.rawValue), "value": .string(String(repeating: "0", count: 64))]))
                    : .string((changed.header[member]?.stringValue ?? "") + "x")
                let code = TestSupport.code(changed.verify(trust: pki.trust))
                // Changing `from` is caught as a sender mismatch first only if the signature held: it must not.
                #expect(code == .badSignature, "leaf \(index), member \(member)")
            }
            // Another envelope's header with this envelope's proof.
            var other = envelope
            other.header = envelopes[(index + 1) % size].header
            #expect(TestSupport.code(other.verify(trust: pki.trust)) == .badSignature)
            let proof = try BatchProof(json: try #require(envelope.signature.batch))
            // Any path element, any byte.
            for position in proof.path.indices {
                for byte in 0..<MerkleTree.hashLength {
                    var path = proof.path
                    path[position][byte] ^= 0x01
                    #expect(code(envelope, BatchProof(size: size, index: index, path: path).json, pki) == .badSignature,
                            "leaf \(index), path[\(position)] byte \(byte)")
                }
            }
            // Path elements swapped, dropped, added.
            if proof.path.count > 1 {
                #expect(code(envelope, BatchProof(size: size, index: index, path: proof.path.reversed()).json, pki) == .badSignature)
            }
            #expect(code(envelope, BatchProof(size: size, index: index, path: Array(proof.path.dropLast())).json, pki) == .badSignature)
            #expect(code(envelope, BatchProof(size: size, index: index, path: proof.path + [proof.path[0]]).json, pki) == .badSignature)
            // Any other index, in range or not.
            for other in -2...(size + 2) where other != index {
                #expect(code(envelope, BatchProof(size: size, index: other, path: proof.path).json, pki) == .badSignature,
                        "leaf \(index) as index \(other)")
            }
            // Any other size.
            for other in 0...(2 * size + 3) where other != size {
                #expect(code(envelope, BatchProof(size: other, index: index, path: proof.path).json, pki) == .badSignature,
                        "leaf \(index) with size \(other)")
            }
            // The value: another signature over the same statement would do, a changed one does not
            // (even though the genuine statement is in the cache).
            var value = [UInt8](try #require(Data(base64Encoded: envelope.signature.value)))
            value[value.count - 2] ^= 0x01
            var changedValue = envelope
            changedValue.signature.value = Data(value).base64EncodedString()
            #expect(TestSupport.code(changedValue.verify(trust: pki.trust)) == .badSignature)
            // Without its batch member the value does not sign the header.
            var single = envelope
            single.signature.batch = nil
            #expect(TestSupport.code(single.verify(trust: pki.trust)) == .badSignature)
        }
        // A single signature given a batch member is refused too.
        var single = try pki.seal()
        single.signature.batch = BatchProof(size: 1, index: 0, path: []).json
        #expect(TestSupport.code(single.verify(trust: pki.trust)) == .badSignature)
        // The payload is bound through its digest, as for a single signature.
        var payload = envelopes[0]
        payload.payload = Self.records(2)[1]
        #expect(TestSupport.code(payload.verify(trust: pki.trust)) == .digestMismatch)
    }

    func code(_ envelope: Envelope, _ batch: JSONValue, _ pki: TestSupport.PKI) -> VerificationFailure.Code? {
        var changed = envelope
        changed.signature.batch = batch
        return TestSupport.code(changed.verify(trust: pki.trust))
    }

    @Test func malformedBatchMembersAreBadSignature() throws {
        let pki = try TestSupport.PKI(.sm2sm3)
        let envelopes = try Self.batch(pki, 5)
        let envelope = envelopes[2]
        let path = try #require(envelope.signature.batch?["path"])
        let element = try #require(path.arrayValue?.first?.stringValue)
        func with(_ member: String, _ value: JSONValue?) -> JSONValue {
            var object = envelope.signature.batch?.objectValue ?? JSONObject()
            object[member] = value
            return .object(object)
        }
        let malformed: [(String, JSONValue)] = [
            ("not an object", .array([5, 2, path])),
            ("null", .null),
            ("size missing", with("size", nil)),
            ("size a string", with("size", "5")),
            ("size 0", with("size", 0)),
            ("size -5", with("size", -5)),
            ("size 5.5", with("size", .number(JSONNumber(uncheckedText: "5.5")))),
            ("size too large", with("size", .number(JSONNumber(uncheckedText: "1e400")))),
            ("index missing", with("index", nil)),
            ("index a string", with("index", "2")),
            ("index -1", with("index", -1)),
            ("index = size", with("index", 5)),
            ("index 2.5", with("index", .number(JSONNumber(uncheckedText: "2.5")))),
            ("path missing", with("path", nil)),
            ("path a string", with("path", .string(element))),
            ("path element a number", with("path", .array([1] + (path.arrayValue ?? []).dropFirst()))),
            ("path element unpadded", with("path", .array([.string(String(element.dropLast()))] + (path.arrayValue ?? []).dropFirst()))),
            ("path element with a space", with("path", .array([.string(" " + element)] + (path.arrayValue ?? []).dropFirst()))),
            ("path element of 31 bytes", with("path", .array([.string(Data(repeating: 1, count: 31).base64EncodedString())] + (path.arrayValue ?? []).dropFirst()))),
            ("path element of 33 bytes", with("path", .array([.string(Data(repeating: 1, count: 33).base64EncodedString())] + (path.arrayValue ?? []).dropFirst()))),
            ("path empty", with("path", .array([]))),
        ]
        for (what, batch) in malformed {
            #expect(code(envelope, batch, pki) == .badSignature, "\(what)")
            #expect(throws: VerificationFailure.self, "\(what)") { try BatchProof(json: batch) }
        }
        // A non-canonical base64 element (unused low bits set) decodes to the same hash but is refused.
        let decoded = try #require(Data(base64Encoded: element))
        #expect(decoded.count == 32)
        var characters = Array(element)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let last = try #require(alphabet.firstIndex(of: characters[42]))
        characters[42] = alphabet[last ^ 1]
        let nonCanonical = String(characters)
        #expect(Data(base64Encoded: nonCanonical) == decoded)
        #expect(code(envelope, with("path", .array([.string(nonCanonical)] + (path.arrayValue ?? []).dropFirst())), pki) == .badSignature)
        // Integers written as 5.0 or 5e0 are the integer 5 (what RFC 8785 writes for them).
        let written = with("size", .number(JSONNumber(uncheckedText: "5.0")))
        #expect(code(envelope, written, pki) == nil)
        #expect(code(envelope, with("index", .number(JSONNumber(uncheckedText: "2e0"))), pki) == nil)
        // The envelope itself still parses: the refusal is the verifier's bad-signature, not malformed-envelope.
        var changed = envelope
        changed.signature.batch = "nonsense"
        let reread = try Envelope(json: try JSONParser.parse(changed.canonicalBytes()))
        #expect(TestSupport.code(reread.verify(trust: pki.trust)) == .badSignature)
    }

    @Test func theCacheHoldsOnlyTheSignatureCheck() throws {
        let pki = try TestSupport.PKI(.sm2sm3)
        let envelopes = try Self.batch(pki, 4)
        let now = Date()
        #expect(TestSupport.code(envelopes[0].verify(trust: pki.trust, at: now)) == nil)
        // Validity is still checked per envelope: the statement is cached, the certificate expired.
        #expect(TestSupport.code(envelopes[1].verify(trust: pki.trust, at: now.addingTimeInterval(40 * 86_400))) == .expiredCertificate)
        #expect(TestSupport.code(envelopes[1].verify(trust: pki.trust, at: now.addingTimeInterval(-2 * 86_400))) == .notYetValidCertificate)
        // Revocation too: a store with a CRL naming the signer refuses every envelope of the batch.
        let crl = try pki.ca.makeCRL(
            revoked: [pki.xinsheng.certificate.serial: now], number: 1, nextUpdate: now.addingTimeInterval(86_400))
        let revoking = try TrustStore(roots: [pki.ca.certificate], revocationLists: [crl])
        for envelope in envelopes { #expect(TestSupport.code(envelope.verify(trust: revoking)) == .revokedCertificate) }
        #expect(revoking.batchStatements.statistics.signatureChecks == 0)
        // The sender identity too: a batch signed by renshi's key claiming to be from xinsheng.
        let forged = try Envelope.sealBatch(records: Self.records(3), from: "xinsheng", to: ["renshi"], signer: pki.renshi)
        for envelope in forged { #expect(TestSupport.code(envelope.verify(trust: pki.trust)) == .senderMismatch) }
        // A failed signature check is not kept.
        var bad = envelopes[2]
        bad.signature.value = try pki.seal().signature.value
        #expect(TestSupport.code(bad.verify(trust: pki.trust)) == .badSignature)
        #expect(TestSupport.code(bad.verify(trust: pki.trust)) == .badSignature)
    }

    @Test func theCacheIsBounded() throws {
        let cache = BatchStatementCache(limit: 4)
        func key(_ n: Int) -> BatchStatementCache.Key {
            .init(algorithm: .sm2sm3, statement: Array("statement \(n)".utf8), keyId: "k", value: "v")
        }
        var checks = 0
        for n in 0..<20 { #expect(cache.verified(key(n)) { checks += 1; return true }) }
        #expect(checks == 20)
        #expect(cache.count <= 8)
        // The most recent ones are still held; the oldest ones are checked again.
        #expect(cache.verified(key(19)) { checks += 1; return true })
        #expect(checks == 20)
        #expect(cache.verified(key(0)) { checks += 1; return true })
        #expect(checks == 21)
        // A failed check is not kept.
        #expect(!cache.verified(key(100)) { false })
        #expect(cache.verified(key(100)) { true })
        #expect(cache.statistics.signatureChecks == 23)
        cache.removeAll()
        #expect(cache.count == 0)
    }

    // MARK: The openssl command line (docs/security.md, examples/batch-signatures/verify.sh)

    static let script = TestSupport.packageRoot.appendingPathComponent("examples/batch-signatures/verify.sh").path

    /// Runs verify.sh with `sh`; returns its exit status and output.
    func runScript(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try TestSupport.run(["sh", Self.script] + arguments)
    }

    @Test(arguments: [SignatureAlgorithm.sm2sm3, .es256])
    func batchAndSingleFormsVerifyWithOpenSSL(_ algorithm: SignatureAlgorithm) throws {
        let pki = try TestSupport.PKI(algorithm)
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let certificate = dir.appendingPathComponent("cert.pem").path
        try FileBytes.write(try pki.xinsheng.certificate.pem(), to: certificate)
        let message = dir.appendingPathComponent("member.jcs").path

        func arguments(_ header: JSONObject, _ signature: SignatureBlock, batch: JSONValue?) throws -> [String] {
            try FileBytes.write(JSONValue.object(header).canonicalBytes(), to: message)
            var arguments = [signature.alg, message, certificate, signature.value]
            if let batch {
                let proof = try BatchProof(json: batch)
                arguments += [String(proof.size), String(proof.index)] + proof.path.map { Data($0).base64EncodedString() }
            }
            return arguments
        }

        // Every index of a batch of 7 (every branch of the fold), and the last leaf of a batch of 8.
        var envelopes = try Self.batch(pki, 7)
        envelopes.append(try Self.batch(pki, 8)[7])
        for envelope in envelopes {
            let verified = try runScript(try arguments(envelope.header, envelope.signature, batch: envelope.signature.batch))
            #expect(verified.status == 0, "\(verified.output)")
            #expect(verified.output.contains("Signature Verified Successfully"))
        }
        // A receipt of a batch.
        let receipt = try Receipt.issueBatch(envelopes.prefix(3).map { Receipt.BatchItem(envelope: $0, outcome: .accepted) }, by: "renshi", signer: pki.renshi)[1]
        try FileBytes.write(try pki.renshi.certificate.pem(), to: certificate)
        let receiptVerified = try runScript(try arguments(receipt.header, receipt.signature, batch: receipt.signature.batch))
        #expect(receiptVerified.status == 0, "\(receiptVerified.output)")
        try FileBytes.write(try pki.xinsheng.certificate.pem(), to: certificate)
        // The single form, by the same script.
        let single = try pki.seal()
        let singleVerified = try runScript(try arguments(single.header, single.signature, batch: nil))
        #expect(singleVerified.status == 0, "\(singleVerified.output)")
        // What xgw refuses, openssl refuses too: a changed path element, index, size or leaf.
        let envelope = envelopes[3]
        let good = try arguments(envelope.header, envelope.signature, batch: envelope.signature.batch)
        var path = good
        var element = [UInt8](try #require(Data(base64Encoded: path[6])))
        element[0] ^= 1
        path[6] = Data(element).base64EncodedString()
        var index = good
        index[5] = "2"
        var size = good
        size[4] = "8"
        for (what, changed) in [("path", path), ("index", index), ("size", size)] {
            let refused = try runScript(changed)
            #expect(refused.status != 0, "\(what): \(refused.output)")
        }
        var header = envelope.header
        header["recordId"] = "sc-traffic:other"
        let leaf = try runScript(try arguments(header, envelope.signature, batch: envelope.signature.batch))
        #expect(leaf.status != 0, "\(leaf.output)")
    }
}

import Foundation
import GatewayModel
import GatewayServer
import GatewaySigning
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Issue 16 item 10: bulletin attachments travel. Their bytes are uploaded by hash
/// (`PUT /v1/attachments/{sha256}`), checked against the bulletins that name them, and downloaded
/// by each member of a bulletin's audience (`GET`), over real HTTP on loopback (`.live`) with
/// real files in the data folder.
@Suite(.serialized)
struct AttachmentTests {
    /// formats.md's `sc-bulletin-xml` example (整治名单.pdf, 48213 bytes, from kaijiang-renshi to
    /// liangping-xinsheng and liangping) with its attachment's members replaced where given.
    static func bulletin(id: String = "KJRS-2023-007", sha256: String, size: Int = 48213, mediaType: String = "application/pdf") throws -> [UInt8] {
        var text = String(decoding: try fixture("sc-bulletin-xml/001-spec-example.xml"), as: UTF8.self)
        let example = "e9f6ed2cb6c25d2bf09425a1a6a1f1263468cdc4aa87a8883fe85f6e06a763ce"
        #expect(text.contains(example) && text.contains("DX=\"48213\"") && text.contains("LX=\"application/pdf\""))
        text = text.replacingOccurrences(of: example, with: sha256)
            .replacingOccurrences(of: "DX=\"48213\"", with: "DX=\"\(size)\"")
            .replacingOccurrences(of: "LX=\"application/pdf\"", with: "LX=\"\(mediaType)\"")
            .replacingOccurrences(of: "ID=\"KJRS-2023-007\"", with: "ID=\"\(id)\"")
        return Array(text.utf8)
    }

    /// A PDF of exactly `size` bytes (every byte value occurs in it), distinct per `seed`.
    static func pdf(size: Int = 48213, seed: UInt8 = 0) -> [UInt8] {
        let head = Array("%PDF-1.4\n%\u{E2}\u{E3}\u{CF}\u{D3}\n1 0 obj << /Title (整治名单) >> endobj\n".utf8)
        let tail = Array("\n%%EOF\n".utf8)
        var bytes = head
        var x = seed
        while bytes.count < size - tail.count {
            bytes.append(x)
            x = x &* 37 &+ 11
        }
        return Array((bytes + tail).prefix(size))
    }

    static func sha256(_ bytes: [UInt8]) -> String { Digest.hex(.sha256, bytes) }

    /// A raw request with headers of the caller's choosing (Content-Type, If-None-Match).
    static func call(
        _ client: APIClient, _ method: HTTPRequest.Method, _ path: String, token: String?, body: [UInt8]? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> HTTPAnswer {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        let response = try await client.client.executeRequest(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
        var fields: [String: String] = [:]
        for field in response.headers { fields[field.name.rawName] = field.value }
        return HTTPAnswer(status: response.status.code, headers: fields, body: Array(response.body.readableBytesView))
    }

    static func upload(_ client: APIClient, _ bytes: [UInt8], as sha256: String? = nil, type: String? = "application/pdf", token: String?) async throws -> HTTPAnswer {
        try await call(client, .put, "/v1/attachments/\(sha256 ?? Self.sha256(bytes))", token: token, body: bytes, headers: type.map { ["Content-Type": $0] } ?? [:])
    }

    static func objects(_ data: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("attachments/objects").path)) ?? []).sorted()
    }

    static func temporaryFiles(_ data: URL) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("attachments/tmp").path)) ?? []
    }

    static func code(_ answer: HTTPAnswer) -> String? { answer.json?["error"]?["code"]?.stringValue }

    @Test func anUploadIsStoredByItsHashOnceAndWhatIsNotAllowedIsRefused() async throws {
        let gateway = try APIGateway.temporary()
        defer { gateway.remove() }
        try await gateway.run(.live) { client, server in
            let tokens = server.tokensByName
            let issuer = try #require(tokens["kaijiang-renshi"])
            let bytes = Self.pdf()
            let hash = Self.sha256(bytes)

            let first = try await Self.upload(client, bytes, token: issuer)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json?["sha256"]?.stringValue == hash && first.json?["size"] == 48213, "\(first.text)")
            #expect(first.json?["mediaType"] == "application/pdf")
            let stored = gateway.data.appendingPathComponent("attachments/objects/\(hash)")
            #expect(FileManager.default.contents(atPath: stored.path).map(Array.init) == bytes)
            let mode = try FileManager.default.attributesOfItem(atPath: stored.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)

            // Idempotent: the same bytes again (another participant, another type) keep the first upload.
            let again = try await Self.upload(client, bytes, type: "image/png", token: tokens["xinsheng"])
            #expect(again.status == 200 && again.json?["mediaType"] == "application/pdf", "\(again.text)")
            #expect(Self.objects(gateway.data) == [hash, hash + ".type"])

            // A text upload keeps its charset; the stored type is what a download answers with.
            let note = Array("第一段。\n".utf8)
            let text = try await Self.upload(client, note, type: "Text/Plain; Charset=UTF-8", token: issuer)
            #expect(text.json?["mediaType"] == "text/plain; charset=utf-8", "\(text.text)")

            // Who may upload: a participant, not ops, not without a token.
            #expect(try await Self.upload(client, bytes, token: tokens["ops"]).status == 403)
            #expect(try await Self.upload(client, bytes, token: nil).status == 401)
            // What: no Content-Type, or one a browser would run, or an archive, is 415 naming the allowed ones.
            for type: String? in [nil, "text/html", "image/svg+xml", "application/zip", "application/octet-stream"] {
                let refused = try await Self.upload(client, bytes, type: type, token: issuer)
                #expect(refused.status == 415 && Self.code(refused) == "unsupported-media-type", "\(type ?? "none"): \(refused.text)")
                #expect(refused.json?["error"]?["message"]?.stringValue?.contains("application/pdf") == true)
            }
            // The path must be a hash as records write it.
            for bad in [hash.uppercased(), String(hash.dropLast()), "..%2Ftokens"] {
                let refused = try await Self.upload(client, bytes, as: bad, token: issuer)
                #expect(refused.status == 400, "\(bad): \(refused.text)")
            }
            #expect(Self.temporaryFiles(gateway.data).isEmpty)
        }
    }

    @Test func bytesThatDoNotHashToThePathAreRefusedNamingBothHashes() async throws {
        let gateway = try APIGateway.temporary()
        defer { gateway.remove() }
        try await gateway.run(.live) { client, server in
            let issuer = try #require(server.tokensByName["kaijiang-renshi"])
            let bytes = Self.pdf(), other = Self.sha256(Self.pdf(seed: 1))
            let refused = try await Self.upload(client, bytes, as: other, token: issuer)
            #expect(refused.status == 422 && Self.code(refused) == "sha256-mismatch", "\(refused.text)")
            let message = refused.json?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains(other) && message.contains(Self.sha256(bytes)), "\(message)")
            #expect(Self.objects(gateway.data).isEmpty)
            #expect(Self.temporaryFiles(gateway.data).isEmpty)
        }
    }

    @Test func anUploadOverTheLimitIs413AndNothingIsKept() async throws {
        let gateway = try APIGateway.temporary { data in
            let file = data.appendingPathComponent("xgw.yaml")
            try "attachments:\n  maxBytes: 4096\n".write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }
        defer { gateway.remove() }
        #expect(gateway.configuration.attachments.maxBytes == 4096)
        try await gateway.run(.live) { client, server in
            let tokens = server.tokensByName
            let issuer = try #require(tokens["kaijiang-renshi"])
            let large = Self.pdf(size: 4097), fits = Self.pdf(size: 4096)
            let refused = try await Self.upload(client, large, token: issuer)
            #expect(refused.status == 413 && Self.code(refused) == "attachment-too-large", "\(refused.text)")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("4096") == true)
            #expect(Self.objects(gateway.data).isEmpty && Self.temporaryFiles(gateway.data).isEmpty)
            #expect(try await Self.upload(client, fits, token: issuer).status == 200)
            // A bulletin declaring more than the limit could never have its bytes: refused, naming the size.
            let declared = try await client.call(
                "POST", "/v1/documents", token: issuer, body: try Self.bulletin(sha256: Self.sha256(large), size: large.count))
            #expect(declared.status == 422, "\(declared.text)")
            let error = declared.json?["records"]?[0]?["errors"]?[0]
            #expect(error?["code"] == "attachment-too-large" && error?["path"] == "/attachments/0/size", "\(declared.text)")
        }
        // An unknown key of the section is refused, like every other.
        let typo = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-attachments-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: typo) }
        try "attachments:\n  maxByte: 10\n".write(to: typo, atomically: true, encoding: .utf8)
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: typo.path, environment: [:]) }
    }

    @Test func aBulletinWhoseStoredBytesDoNotMatchIsRefusedAndMissingBytesAreNamed() async throws {
        let gateway = try APIGateway.temporary()
        defer { gateway.remove() }
        try await gateway.run(.live) { client, server in
            let tokens = server.tokensByName
            let issuer = try #require(tokens["kaijiang-renshi"]), member = try #require(tokens["liangping"])
            let bytes = Self.pdf()
            let hash = Self.sha256(bytes)
            #expect(try await Self.upload(client, bytes, token: issuer).status == 200)

            func submit(_ document: [UInt8]) async throws -> (status: Int, record: JSONValue?) {
                let answer = try await client.call("POST", "/v1/documents", token: issuer, body: document)
                return (answer.status, answer.json?["records"]?[0])
            }
            // Declared size other than the stored bytes': refused, naming /attachments/0/size; nothing queued.
            let size = try await submit(try Self.bulletin(id: "KJRS-2023-901", sha256: hash, size: 48214))
            #expect(size.status == 422)
            #expect(size.record?["errors"]?[0]?["code"] == "attachment-mismatch", "\(String(describing: size.record))")
            #expect(size.record?["errors"]?[0]?["path"] == "/attachments/0/size")
            #expect(size.record?["errors"]?[0]?["message"]?.stringValue?.contains("48213") == true)
            // Declared media type other than the upload's: refused, naming /attachments/0/mediaType.
            let type = try await submit(try Self.bulletin(id: "KJRS-2023-902", sha256: hash, mediaType: "image/png"))
            #expect(type.status == 422)
            #expect(type.record?["errors"]?[0]?["code"] == "attachment-mismatch" && type.record?["errors"]?[0]?["path"] == "/attachments/0/mediaType")
            // A type no upload may have: refused.
            let zip = try await submit(try Self.bulletin(id: "KJRS-2023-903", sha256: hash, mediaType: "application/zip"))
            #expect(zip.status == 422 && zip.record?["errors"]?[0]?["code"] == "unsupported-media-type")
            #expect(zip.record?["errors"]?[0]?["path"] == "/attachments/0/mediaType")
            let inbox = try await client.call("GET", "/v1/inbox", token: member)
            #expect(inbox.json?["queued"] == 0, "\(inbox.text)")

            // Bytes not uploaded yet: the bulletin goes, and the answer names what is missing ...
            let later = Self.pdf(seed: 7)
            let missing = try await submit(try Self.bulletin(id: "KJRS-2023-904", sha256: Self.sha256(later)))
            #expect(missing.status == 200, "\(String(describing: missing.record))")
            #expect(missing.record?["missingAttachments"] == ["/attachments/0/sha256"])
            // ... which the audience cannot download until the issuer uploads them, and then can.
            let path = "/v1/attachments/\(Self.sha256(later))"
            #expect(try await Self.call(client, .get, path, token: member).status == 404)
            #expect(try await Self.upload(client, later, token: issuer).status == 200)
            let now = try await Self.call(client, .get, path, token: member)
            #expect(now.status == 200 && now.body == later)
            // Resubmitted now that they are here: a duplicate, nothing missing.
            let resubmitted = try await submit(try Self.bulletin(id: "KJRS-2023-904", sha256: Self.sha256(later)))
            #expect(resubmitted.status == 200 && resubmitted.record?["duplicate"] == true)
            #expect(resubmitted.record?["missingAttachments"] == nil)
        }
    }

    /// formats.md's 整治名单.pdf end to end: uploaded by its issuer, named by the bulletin, leased by
    /// each audience member from the signed envelope and downloaded byte for byte; anyone else
    /// gets 404, and the grants survive a restart.
    @Test func theAudienceDownloadsTheBulletinsAttachmentAndNobodyElseDoes() async throws {
        let gateway = try APIGateway.temporary()
        defer { gateway.remove() }
        let bytes = Self.pdf()
        let hash = Self.sha256(bytes)
        let path = "/v1/attachments/\(hash)"
        let tokens = try await gateway.run(.live) { client, server in
            let tokens = server.tokensByName
            let issuer = try #require(tokens["kaijiang-renshi"])
            // Before any bulletin names it, only ops may read what was uploaded.
            #expect(try await Self.upload(client, bytes, token: issuer).status == 200)
            #expect(try await Self.call(client, .get, path, token: tokens["liangping"]).status == 404)
            #expect(try await Self.call(client, .get, path, token: tokens["ops"]).status == 200)

            let submitted = try await client.call("POST", "/v1/documents", token: issuer, body: try Self.bulletin(sha256: hash))
            #expect(submitted.status == 200, "\(submitted.text)")
            let record = try #require(submitted.json?["records"]?[0])
            #expect(record["missingAttachments"] == nil)
            #expect(Set(record["destinations"]?.arrayValue?.compactMap(\.stringValue) ?? []) == ["liangping-xinsheng", "liangping"])

            let trust = server.trust
            for member in ["liangping-xinsheng", "liangping"] {
                let lease = try await client.call("POST", "/v1/inbox/lease", token: tokens[member], json: ["max": 10])
                let message = try #require(lease.json?["messages"]?[0], "\(member): \(lease.text)")
                let envelope = try Envelope(json: try #require(message["envelope"]))
                _ = try envelope.verify(trust: trust).get()
                let attachment = try #require(envelope.payload["attachments"]?[0])
                #expect(attachment["name"] == "整治名单.pdf" && attachment["size"] == 48213)
                let sha256 = try #require(attachment["sha256"]?.stringValue)
                let download = try await Self.call(client, .get, "/v1/attachments/\(sha256)", token: tokens[member])
                #expect(download.status == 200, "\(member): \(download.text)")
                #expect(download.body == bytes, "\(member): the bytes differ")
                #expect(Self.sha256(download.body) == sha256)
                #expect(download.header("Content-Type") == "application/pdf")
                #expect(download.header("Content-Length") == "48213")
                #expect(download.header("ETag") == "\"\(sha256)\"")
                #expect(download.header("X-Content-Type-Options") == "nosniff")
                let cached = try await Self.call(client, .get, path, token: tokens[member], headers: ["If-None-Match": "\"\(sha256)\""])
                #expect(cached.status == 304 && cached.body.isEmpty)
            }
            // The issuer and ops may read it; other participants, and unknown hashes, are 404 alike.
            #expect(try await Self.call(client, .get, path, token: issuer).body == bytes)
            #expect(try await Self.call(client, .get, path, token: tokens["ops"]).body == bytes)
            let unknown = try await Self.call(client, .get, "/v1/attachments/\(Self.sha256(Self.pdf(seed: 9)))", token: tokens["liangping"])
            for other in ["dachuan", "kaijiang", "renshi", "xinsheng"] {
                let refused = try await Self.call(client, .get, path, token: tokens[other])
                #expect(refused.status == 404 && Self.code(refused) == "not-found", "\(other): \(refused.status)")
                #expect(refused.json?["error"]?["message"] == unknown.json?["error"]?["message"])
            }
            #expect(unknown.status == 404)
            #expect(try await Self.call(client, .get, path, token: nil).status == 401)
            return tokens
        }
        // After a restart on the same folder, the grants and bytes are still there.
        try await gateway.run(.live) { client, _ in
            let download = try await Self.call(client, .get, path, token: tokens["liangping"])
            #expect(download.status == 200 && download.body == bytes)
            #expect(try await Self.call(client, .get, path, token: tokens["dachuan"]).status == 404)
        }
        // The log names hashes, never an attachment's name.
        #expect(gateway.log.text.contains(hash))
        #expect(!gateway.log.text.contains("整治名单"))
    }
}

extension JSONValue {
    /// The `index`th member of an array (nil otherwise): `answer.json?["records"]?[0]`.
    fileprivate subscript(index: Int) -> JSONValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}

import Foundation
import GatewayModel
import TestSupport
import Testing

/// Issue 17 row 5, over raw TCP on loopback against `xgw serve`: what the HTTP/1.1 parser refuses
/// is answered in the JSON error shape with an `X-Request-Id` (the same id as in the body), 414
/// for an oversized URI, 431 for an oversized header section, 400 naming the fault otherwise.
@Suite(.serialized)
struct ParserRefusalTests {
    /// One answer read off a raw connection.
    struct RawAnswer {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: JSONValue? { try? JSONParser.parse(Array(body.utf8)) }
    }

    /// Splits what a server sent into answers (status line, headers, Content-Length body).
    static func answers(_ raw: String) -> [RawAnswer] {
        var rest = Substring(raw)
        var found: [RawAnswer] = []
        while let headEnd = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<headEnd.lowerBound].components(separatedBy: "\r\n")
            guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
                let status = Int(statusLine.dropFirst(9).prefix(3))
            else { break }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyBytes = Array(rest[headEnd.upperBound...].utf8.prefix(length))
            found.append(RawAnswer(status: status, headers: headers, body: String(decoding: bodyBytes, as: UTF8.self)))
            rest = Substring(String(decoding: Array(rest[headEnd.upperBound...].utf8.dropFirst(length)), as: UTF8.self))
        }
        return found
    }

    /// Sends `request` on a fresh connection and returns the answers.
    static func send(_ request: String, port: Int) throws -> [RawAnswer] {
        let socket = try RawConnection(port: port)
        try socket.send(request)
        return answers(try socket.readAnswer(within: 10))
    }

    /// The JSON error shape with a request id matching the header, and `Connection: close`.
    static func expectRefusal(_ answers: [RawAnswer], status: Int, code: String, _ label: String) {
        #expect(answers.count == 1, "\(label): \(answers.count) answers")
        guard let answer = answers.first else { return }
        #expect(answer.status == status, "\(label): \(answer.status) \(answer.body)")
        let error = answer.json?["error"]
        #expect(error?["code"]?.stringValue == code, "\(label): \(answer.body)")
        #expect(error?["message"]?.stringValue?.isEmpty == false, "\(label): \(answer.body)")
        let requestId = answer.headers["x-request-id"]
        #expect(requestId?.isEmpty == false, "\(label): no X-Request-Id")
        #expect(error?["requestId"]?.stringValue == requestId, "\(label): \(answer.body)")
        #expect(answer.headers["content-type"] == "application/json", "\(label)")
        #expect(answer.headers["connection"] == "close", "\(label)")
    }

    @Test func parserRefusalsHaveTheJSONErrorShape() async throws {
        try await withServer { server in
            let port = server.port

            let longURI = "GET /healthz?" + String(repeating: "q", count: 100 << 10) + " HTTP/1.1\r\nHost: x\r\n\r\n"
            Self.expectRefusal(try Self.send(longURI, port: port), status: 414, code: "uri-too-long", "100 KiB URI")

            let bigHeader = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100 << 10) + "\r\n\r\n"
            Self.expectRefusal(try Self.send(bigHeader, port: port), status: 431, code: "headers-too-large", "100 KiB header")

            let manyHeaders = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + (0..<5000).map { "X-H\($0): v\r\n" }.joined() + "\r\n"
            Self.expectRefusal(try Self.send(manyHeaders, port: port), status: 431, code: "headers-too-large", "5000 headers")

            let post = "POST /v1/inbox/lease HTTP/1.1\r\nHost: x\r\n"
            let malformed: [(String, String)] = [
                ("Content-Length: abc\r\n\r\n", "a bad Content-Length"),
                ("Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "two Content-Lengths"),
                ("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}", "Content-Length with Transfer-Encoding"),
                ("X-A: a\u{0}b\r\n\r\n", "NUL in a header"),
                ("X-A: a\u{7F}b\r\n\r\n", "DEL in a header"),
                ("X A: b\r\n\r\n", "a space in a header name"),
            ]
            for (rest, label) in malformed {
                Self.expectRefusal(try Self.send(post + rest, port: port), status: 400, code: "bad-request", label)
            }

            // Malformed between requests: the first request still gets its answer, then the refusal.
            let pipelined = try Self.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nX A: b\r\n\r\n", port: port)
            #expect(pipelined.map(\.status) == [200, 400], "\(pipelined.map(\.status))")
            Self.expectRefusal(Array(pipelined.dropFirst()), status: 400, code: "bad-request", "after a good request")

            // A request refused before its body is read (no token) gets one answer, not a second bare 400.
            let unauthorized = try Self.send(post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", port: port)
            #expect(unauthorized.map(\.status) == [401], "\(unauthorized.map(\.status))")

            // The server is unharmed.
            #expect(try await HTTPClient(port: port).call("GET", "/healthz").status == 200)
        }
    }
}

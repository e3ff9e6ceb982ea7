import Foundation
import GatewayModel
import GatewayServer
import TestSupport
import Testing
import Yams

/// The server (the application `xgw serve` builds, run in process) against `docs/openapi.yaml`:
/// every documented operation answers (not 404/405), with a documented status, an `X-Request-Id`,
/// and a body holding the members its schema requires.
@Suite(.serialized)
struct OpenAPITests {
    /// A small checker for the subset of JSON Schema the document uses: $ref, type, required,
    /// properties, items, oneOf. Returns the problems found.
    struct Checker {
        let document: [String: Any]

        func resolve(_ node: [String: Any]) -> [String: Any] {
            guard let ref = node["$ref"] as? String, ref.hasPrefix("#/") else { return node }
            var current: Any = document
            for part in ref.dropFirst(2).split(separator: "/") {
                current = (current as? [String: Any])?[String(part)] ?? [:]
            }
            return resolve(current as? [String: Any] ?? [:])
        }

        func problems(_ value: JSONValue, _ rawSchema: [String: Any], at path: String = "") -> [String] {
            let schema = resolve(rawSchema)
            if let options = schema["oneOf"] as? [[String: Any]] {
                let results = options.map { problems(value, $0, at: path) }
                return results.contains { $0.isEmpty } ? [] : ["\(path): matches no oneOf option: \(results.flatMap { $0 })"]
            }
            let types: [String] = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
            if !types.isEmpty && !types.contains(where: { Self.matches(value, $0) }) {
                return ["\(path): expected \(types), got \(value.canonicalString.prefix(80))"]
            }
            var found: [String] = []
            if case .object(let object) = value {
                for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                    found.append("\(path): required member '\(name)' missing")
                }
                for (name, sub) in schema["properties"] as? [String: Any] ?? [:] {
                    if let member = object[name], let sub = sub as? [String: Any] {
                        found += problems(member, sub, at: path + "/" + name)
                    }
                }
            }
            if case .array(let items) = value, let itemSchema = schema["items"] as? [String: Any] {
                for (i, item) in items.enumerated() { found += problems(item, itemSchema, at: "\(path)/\(i)") }
            }
            return found
        }

        static func matches(_ value: JSONValue, _ type: String) -> Bool {
            switch (type, value) {
            case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null): true
            case ("integer", .number(let n)): n.intValue != nil
            case ("number", .number): true
            default: false
            }
        }
    }

    @Test func everyDocumentedOperationAnswersAsDocumented() async throws {
        let gateway = try APIGateway.temporary(environment: ["XGW_ALGORITHM": "ES256"])
        defer { gateway.remove() }
        try await gateway.run { client, server in try await Self.checkEveryOperation(client, tokens: server.tokensByName) }
    }

    /// Calls every operation of the document once with a token and once without.
    static func checkEveryOperation(_ client: APIClient, tokens: [String: String]) async throws {
        let specText = try String(contentsOf: ServerProcess.repositoryRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let spec = try #require(try Yams.load(yaml: specText) as? [String: Any])
        #expect(spec["openapi"] as? String == "3.1.0")
        let checker = Checker(document: spec)
        let paths = try #require(spec["paths"] as? [String: Any])

        // An envelope in xinsheng's inbox, leased once, so that every path parameter is real.
        let submitted = try await client.call("POST", "/v1/documents", token: tokens["renshi"], body: try fixture("sc-case-json/001-spec-example.json"))
        let envelopeId = try #require(submitted.json?["records"]?.arrayValue?.first?["envelopeId"]?.stringValue, "\(submitted.text)")
        let leased = try await client.call("POST", "/v1/inbox/lease", token: tokens["xinsheng"], json: ["max": 1])
        let leaseToken = try #require(leased.json?["messages"]?.arrayValue?.first?["leaseToken"])

        var operations = 0
        for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
            for (method, rawOperation) in (item as? [String: Any] ?? [:]) where ["get", "post"].contains(method) {
                let operation = try #require(rawOperation as? [String: Any])
                let responses = try #require(operation["responses"] as? [String: Any])
                let isPublic = (operation["security"] as? [Any])?.isEmpty == true
                let token = path.hasPrefix("/v1/ops") ? tokens["ops"] : isPublic ? nil : tokens["xinsheng"]
                let concrete = path.replacingOccurrences(of: "{envelopeId}", with: envelopeId)
                    .replacingOccurrences(of: "{messageId}", with: "999999")
                var body: [UInt8]?
                var json: JSONValue?
                switch path {
                case "/v1/documents": body = try fixture("cq-traffic-json/001-formats-example.json")
                case "/v1/inbox/lease": json = ["max": 1]
                case "/v1/inbox/{envelopeId}/ack": json = ["leaseToken": leaseToken, "outcome": "accepted"]
                case "/v1/inbox/ack": json = ["acks": [["envelopeId": .string(envelopeId), "leaseToken": leaseToken]]]
                default: break
                }
                let answer = try await client.call(method.uppercased(), concrete, token: token, body: body, json: json)
                operations += 1
                let label = "\(method.uppercased()) \(path) → \(answer.status)"
                #expect(answer.header("X-Request-Id")?.isEmpty == false, "\(label): no X-Request-Id")
                #expect(answer.status != 405 && !(answer.status == 404 && responses["404"] == nil), "\(label): route missing")
                let documented = responses[String(answer.status)] as? [String: Any]
                #expect(documented != nil, "\(label): status not documented: \(answer.text.prefix(300))")
                if let documented {
                    let response = checker.resolve(documented)
                    let content = response["content"] as? [String: Any] ?? [:]
                    if let media = content["application/json"] as? [String: Any], let schema = media["schema"] as? [String: Any] {
                        let value = try #require(answer.json, "\(label): not JSON")
                        let problems = checker.problems(value, schema)
                        #expect(problems.isEmpty, "\(label): \(problems)")
                    }
                }
                // Without a token a protected operation answers the documented 401 error.
                if !isPublic {
                    let anonymous = try await client.call(method.uppercased(), concrete, body: body, json: json)
                    #expect(anonymous.status == 401, "\(method) \(path) without a token")
                    let problems = checker.problems(anonymous.json ?? .null, ["$ref": "#/components/schemas/Error"])
                    #expect(problems.isEmpty, "\(problems)")
                }
            }
        }
        #expect(operations == 20)

        // Errors outside the documented routes keep the same shape; a stack or SQL never shows.
        let missing = try await client.call("GET", "/v1/nothing-here", token: tokens["renshi"])
        #expect(missing.status == 404)
        #expect(checker.problems(missing.json ?? .null, ["$ref": "#/components/schemas/Error"]).isEmpty, "\(missing.text)")
        let badJSON = try await client.call("POST", "/v1/inbox/lease", token: tokens["renshi"], body: Array("{not json".utf8))
        #expect(badJSON.status == 400)
        #expect(checker.problems(badJSON.json ?? .null, ["$ref": "#/components/schemas/Error"]).isEmpty)
    }
}

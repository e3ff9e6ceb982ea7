import Foundation
import GatewaySigning

/// Who a bearer token belongs to.
public enum Principal: Sendable, Hashable {
    case participant(String)
    case ops
}

/// The API tokens: one per participant and one ops token, stored as SHA-256 hashes in
/// `<data>/tokens` (mode 0600, one `NAME HEX` line each; `ops` is the ops token). The tokens
/// themselves exist only in the answer of `bootstrap` (printed once on first start).
public struct TokenStore: Sendable {
    struct Entry: Sendable {
        var principal: Principal
        var hash: [UInt8]
    }

    private let entries: [Entry]

    init(entries: [Entry]) { self.entries = entries }

    /// The name written in the tokens file for a principal.
    static func name(_ principal: Principal) -> String {
        switch principal {
        case .ops: "ops"
        case .participant(let id): id
        }
    }

    /// Reads the tokens file, or creates it (with a fresh token for every participant that has none,
    /// and the ops token) and returns the new tokens in clear for the caller to show once.
    public static func bootstrap(path: String, participants: [String]) throws -> (store: TokenStore, created: [(String, String)]) {
        var entries: [Entry] = []
        if let data = FileManager.default.contents(atPath: path) {
            let text = String(decoding: data, as: UTF8.self)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                let parts = trimmed.split(separator: " ", omittingEmptySubsequences: true)
                let hash: [UInt8] = parts.count == 2 ? Array(parts[1].utf8) : []
                guard hash.count == 64, hash.allSatisfy(Self.isLowerHex) else {
                    throw ServerConfigurationError("\(path):\(n + 1): expected 'NAME SHA256-HEX'")
                }
                let name = String(parts[0])
                entries.append(Entry(principal: name == "ops" ? .ops : .participant(name), hash: hash))
            }
        }
        var created: [(String, String)] = []
        let known = Set(entries.map { name($0.principal) })
        for principal in [Principal.ops] + participants.map(Principal.participant) where !known.contains(name(principal)) {
            let token = newToken()
            created.append((name(principal), token))
            entries.append(Entry(principal: principal, hash: hash(token)))
        }
        if !created.isEmpty {
            var text = "# xgw API tokens: SHA-256 of each token (the tokens were shown once, on creation)\n"
            for e in entries { text += "\(name(e.principal)) \(String(decoding: e.hash, as: UTF8.self))\n" }
            try FileBytes.writeSecret(Array(text.utf8), to: path)
        }
        return (TokenStore(entries: entries), created)
    }

    /// Only the ops token and those of `participants`: a node answers no token of a participant it
    /// does not host (a tokens file kept from a one-node start holds everyone's).
    func restricted(to participants: Set<String>) -> TokenStore {
        TokenStore(entries: entries.filter {
            if case .participant(let id) = $0.principal { return participants.contains(id) }
            return true
        })
    }

    /// The principal of a presented token. Every stored hash is compared in full (constant time
    /// in the token and independent of which entry matches).
    public func principal(token: String) -> Principal? {
        let presented = Self.hash(token)
        var found: Principal?
        for entry in entries where Self.constantTimeEqual(entry.hash, presented) {
            found = entry.principal
        }
        return found
    }

    static func isLowerHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// `xgw_` and 64 hex digits: the SHA-256 of 32 bytes from SystemRandomNumberGenerator (getrandom).
    static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return "xgw_" + Digest.hex(.sha256, (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    /// The stored form of a token: its SHA-256 in lowercase hex, as bytes.
    static func hash(_ token: String) -> [UInt8] { Array(Digest.hex(.sha256, Array(token.utf8)).utf8) }
}

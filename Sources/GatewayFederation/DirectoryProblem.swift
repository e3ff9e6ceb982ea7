import GatewayModel

/// One reason a directory is refused (federation.md, "The directory"): a content rule broken at a
/// member (`pointer`, a JSON Pointer into the whole `{"directory": …, "signature": …}` document), a
/// signature that does not hold, or an acceptance condition this node does not meet.
///
/// `message` names ids, pins, files and times only: a directory holds no personal data.
public struct DirectoryProblem: Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        // Shape and content rules.
        /// Not JSON, not an object, a member missing or of the wrong type, a batch signature.
        public static let malformed: Code = "malformed-directory"
        /// `version` is not 1.
        public static let unsupportedVersion: Code = "unsupported-version"
        /// `serial` is not a whole number from 0 to 2^53 − 1.
        public static let invalidSerial: Code = "invalid-serial"
        /// `issuedAt` or `nextUpdate` is not an RFC 3339 time with `Z` or an offset, or not a real date.
        public static let invalidTime: Code = "invalid-time"
        /// `nextUpdate` is not after `issuedAt`.
        public static let timeOrder: Code = "next-update-not-after-issued-at"
        /// A node or participant id is not 1–64 characters of a–z, 0–9, `-`, `_`, `.` (office ids' syntax).
        public static let invalidID: Code = "invalid-id"
        /// A node's `url` is not an `https` URL with a host (and no user, query or fragment).
        public static let invalidURL: Code = "invalid-url"
        /// A pin is not 64 lower-case hex digits.
        public static let invalidPin: Code = "invalid-pin"
        /// Two nodes have the same id.
        public static let duplicateNode: Code = "duplicate-node"
        /// Two pins (`tlsCertificateSha256` or `nextTlsCertificateSha256`, of any nodes) are equal.
        public static let duplicatePin: Code = "duplicate-pin"
        /// A participant is listed by more than one node, or twice by one.
        public static let hostedTwice: Code = "participant-hosted-twice"

        // Acceptance by a node (signature failures carry envelope.md's codes: bad-signature,
        // untrusted-certificate, unsupported-algorithm, algorithm-mismatch, expired-certificate, …).
        /// The directory does not list this node.
        public static let nodeNotListed: Code = "node-not-listed"
        /// A participant the directory gives to this node has no signing key here.
        public static let keyMissing: Code = "hosted-key-missing"
        /// This node holds the signing key of a participant the directory gives to another node or to none.
        public static let foreignKey: Code = "foreign-key"
        /// The node's configured `hosts` differ from its entry in the directory.
        public static let hostsMismatch: Code = "hosts-mismatch"
        /// The serial is lower than the held directory's.
        public static let serialNotNewer: Code = "serial-not-newer"
        /// The serial equals the held directory's but the content differs.
        public static let serialReused: Code = "serial-reused"
        /// A warning, not a refusal: the directory is past its `nextUpdate` (it still applies).
        public static let stale: Code = "stale-directory"
    }

    public var code: Code
    /// The member concerned, in the whole document (`/directory/nodes/1/url`); nil when no member is.
    public var pointer: JSONPointer?
    /// The participant concerned (acceptance: a key here or missing), when there is one.
    public var participant: String?
    public var message: String

    public init(_ code: Code, at pointer: JSONPointer?, participant: String? = nil, _ message: String) {
        self.code = code
        self.pointer = pointer
        self.participant = participant
        self.message = message
    }

    /// `<pointer>: <message> (<code>)`, or without the pointer when there is none.
    public var description: String {
        (pointer.map { "\($0.isRoot ? "/" : $0.description): " } ?? "") + "\(message) (\(code))"
    }
}

/// A directory that cannot be read or whose content breaks federation.md's rules: every problem
/// found, in document order.
public struct DirectoryError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [DirectoryProblem]

    public init(_ problems: [DirectoryProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension JSONPointer {
    /// `/directory`, where the signed member stands in the document.
    static let directory = JSONPointer(tokens: ["directory"])
    /// `/signature`.
    static let signature = JSONPointer(tokens: ["signature"])
}

import Foundation
import GatewayModel
import GatewaySigning

/// The `directory` member of the alliance's signed directory (federation.md, "The directory"):
/// version 1, a serial, when it was issued and when the next one is due, and the nodes.
///
/// A value of this type always satisfies the content rules: `init(member:)` reads and checks a
/// received member (every problem with its JSON Pointer), and the building initialiser checks what
/// it builds the same way. `member` is kept exactly as received, so that members added by later
/// versions of the contract stay covered by the signature and by the "identical content" comparison.
public struct Directory: Sendable, Hashable {
    /// The only version of federation.md.
    public static let version = 1
    /// The largest serial: 2^53 − 1, the largest integer RFC 8785 (ECMAScript numbers) writes exactly.
    public static let maxSerial = 9_007_199_254_740_991

    /// The `directory` member, as received or built.
    public let member: JSONObject
    public let serial: Int
    public let issuedAt: Date
    public let nextUpdate: Date
    public let nodes: [DirectoryNode]

    /// Reads and checks a `directory` member.
    /// - Throws: every shape and content problem, each at its member (`/directory/nodes/1/url`).
    public init(member: JSONObject) throws(DirectoryError) {
        var reader = DirectoryReader()
        let read = reader.read(member)
        guard reader.problems.isEmpty, let read else { throw DirectoryError(reader.problems) }
        self.member = member
        serial = read.serial
        issuedAt = read.issuedAt
        nextUpdate = read.nextUpdate
        nodes = read.nodes
    }

    /// Builds a directory (`issuedAt` and `nextUpdate` written as `Timestamp.string` writes them, to
    /// the second) and checks it as a received one would be.
    /// - Throws: the content problems of what was given.
    public init(serial: Int, issuedAt: Date, nextUpdate: Date, nodes: [DirectoryNode]) throws(DirectoryError) {
        try self.init(member: JSONObject([
            "version": .number(JSONNumber(Self.version)),
            "serial": .number(JSONNumber(serial)),
            "issuedAt": .string(Timestamp.string(issuedAt)),
            "nextUpdate": .string(Timestamp.string(nextUpdate)),
            "nodes": .array(nodes.map(\.json)),
        ]))
    }

    /// The RFC 8785 bytes of the member: what the signature covers and what "identical content" compares.
    public func canonicalBytes() -> [UInt8] { JSONValue.object(member).canonicalBytes() }

    /// Identical content: equal RFC 8785 bytes (the order of members as received does not count).
    public static func == (a: Directory, b: Directory) -> Bool { a.canonicalBytes() == b.canonicalBytes() }

    public func hash(into hasher: inout Hasher) { hasher.combine(canonicalBytes()) }

    /// `issuedAt` exactly as the member has it.
    public var issuedAtText: String { member["issuedAt"]?.stringValue ?? "" }
    /// `nextUpdate` exactly as the member has it.
    public var nextUpdateText: String { member["nextUpdate"]?.stringValue ?? "" }

    /// The node with this id.
    public func node(id: String) -> DirectoryNode? { nodes.first { $0.id == id } }

    /// The node hosting `participant`; nil when no node does (a destination that cannot be sent to: `no-route`).
    public func node(hosting participant: String) -> DirectoryNode? { nodes.first { $0.hosts.contains(participant) } }

    /// The node presenting a certificate whose DER has this SHA-256 (current or next pin).
    public func node(pinned sha256: String) -> DirectoryNode? { nodes.first { $0.isPinned(sha256) } }

    /// Past `nextUpdate` at `time`: the directory still applies, and the node says so.
    public func isStale(at time: Date) -> Bool { time > nextUpdate }

    /// The pointer of node `index` (`/directory/nodes/<index>`).
    static func pointer(node index: Int) -> JSONPointer { JSONPointer.directory.appending("nodes").appending(index: index) }
}

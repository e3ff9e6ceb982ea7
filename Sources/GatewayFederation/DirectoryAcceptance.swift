import Foundation
import GatewayModel
import GatewaySigning

/// Whether a node accepts a directory (federation.md, "Acceptance"): a pure decision, no I/O.
///
/// A node accepts a directory only if the signature holds, the content rules hold, the directory
/// lists the node itself, the participants it hosts have their keys on this node (and the node holds
/// no key of a participant the directory gives to another node or to none), and its serial is greater
/// than the held one's (the same serial only with identical content). A directory past `nextUpdate`
/// is accepted with a warning. Every reason is reported, not only the first.
public struct DirectoryAcceptance: Sendable, Hashable {
    /// What this node knows about itself.
    public struct Node: Sendable, Hashable {
        /// This node's id.
        public var id: String
        /// The participants whose signing keys this node holds, each with the file it holds it in
        /// (named in messages, so that a start-up refusal names the file and the participant).
        public var keys: [String: String]
        /// The `hosts` of the node's configuration, when given: they must equal the directory's entry.
        public var configuredHosts: [String]?

        public init(id: String, keys: [String: String], configuredHosts: [String]? = nil) {
            self.id = id
            self.keys = keys
            self.configuredHosts = configuredHosts
        }
    }

    /// The candidate's content, when it could be read and passed the content rules.
    public var directory: Directory?
    /// The reasons it is refused; empty when it is accepted.
    public var refusals: [DirectoryProblem]
    /// Warnings that do not refuse it: `stale-directory` when past `nextUpdate`.
    public var warnings: [DirectoryProblem]
    /// Accepted with the held directory's serial and identical content: nothing changes.
    public var isUnchanged: Bool

    public var isAccepted: Bool { refusals.isEmpty && directory != nil }
    public var isStale: Bool { warnings.contains { $0.code == .stale } }

    /// Decides on a document as received (unreadable documents are refused with their problems).
    public static func evaluate(
        _ bytes: some Collection<UInt8>, held: Directory?, node: Node, anchors: [Certificate], at time: Date
    ) -> DirectoryAcceptance {
        do throws(DirectoryError) {
            return evaluate(try SignedDirectory(bytes: bytes), held: held, node: node, anchors: anchors, at: time)
        } catch {
            return DirectoryAcceptance(directory: nil, refusals: error.problems, warnings: [], isUnchanged: false)
        }
    }

    /// Decides on `candidate` for `node`, which holds `held` (nil at first start) and trusts the
    /// signing roots `anchors`, at `time`.
    public static func evaluate(
        _ candidate: SignedDirectory, held: Directory?, node: Node, anchors: [Certificate], at time: Date
    ) -> DirectoryAcceptance {
        var refusals = candidate.signatureProblem(anchors: anchors, at: time).map { [$0] } ?? []
        let directory: Directory
        do throws(DirectoryError) {
            directory = try candidate.content()
        } catch {
            return DirectoryAcceptance(directory: nil, refusals: refusals + error.problems, warnings: [], isUnchanged: false)
        }
        refusals += hosting(directory, node: node)
        var isUnchanged = false
        if let held {
            if directory.serial < held.serial {
                refusals.append(
                    DirectoryProblem(
                        .serialNotNewer, at: JSONPointer.directory.appending("serial"),
                        "serial \(directory.serial) is lower than the held directory's \(held.serial)"))
            } else if directory.serial == held.serial {
                if directory == held {
                    isUnchanged = true
                } else {
                    refusals.append(
                        DirectoryProblem(
                            .serialReused, at: JSONPointer.directory.appending("serial"),
                            "serial \(directory.serial) is the held directory's, with other content (a new directory needs a higher serial)"))
                }
            }
        }
        var warnings: [DirectoryProblem] = []
        if directory.isStale(at: time) {
            warnings.append(
                DirectoryProblem(
                    .stale, at: JSONPointer.directory.appending("nextUpdate"),
                    "directory serial \(directory.serial) is past its nextUpdate \(directory.nextUpdateText): it still applies; ask the alliance for a new one"))
        }
        return DirectoryAcceptance(directory: directory, refusals: refusals, warnings: warnings, isUnchanged: isUnchanged)
    }

    /// The node is listed; it holds the key of every participant the directory gives it, and no key
    /// of a participant given to another node or to none; its configured hosts are the directory's.
    static func hosting(_ directory: Directory, node: Node) -> [DirectoryProblem] {
        guard let index = directory.nodes.firstIndex(where: { $0.id == node.id }) else {
            return [DirectoryProblem(.nodeNotListed, at: JSONPointer.directory.appending("nodes"), "the directory does not list this node (\(node.id))")]
        }
        var problems: [DirectoryProblem] = []
        let entry = directory.nodes[index]
        let pointer = Directory.pointer(node: index)
        for (position, participant) in entry.hosts.enumerated() where node.keys[participant] == nil {
            problems.append(
                DirectoryProblem(
                    .keyMissing, at: pointer.appending("hosts").appending(index: position), participant: participant,
                    "the directory gives \(participant) to this node (\(node.id)), but its signing key is not here"))
        }
        for (participant, file) in node.keys.sorted(by: { $0.key < $1.key }) where !entry.hosts.contains(participant) {
            let owner = directory.nodes.enumerated().first { $0.element.hosts.contains(participant) }
            let given = owner.map { "to node \($0.element.id)" } ?? "to no node"
            let at = owner.flatMap { owner in
                owner.element.hosts.firstIndex(of: participant).map {
                    Directory.pointer(node: owner.offset).appending("hosts").appending(index: $0)
                }
            }
            problems.append(
                DirectoryProblem(
                    .foreignKey, at: at, participant: participant,
                    "\(file) holds the signing key of \(participant), which the directory gives \(given), not to this node (\(node.id))"))
        }
        if let configured = node.configuredHosts, Set(configured) != Set(entry.hosts) || configured.count != entry.hosts.count {
            problems.append(
                DirectoryProblem(
                    .hostsMismatch, at: pointer.appending("hosts"),
                    "the configured hosts [\(configured.joined(separator: ", "))] differ from the directory's [\(entry.hosts.joined(separator: ", "))]"))
        }
        return problems
    }
}

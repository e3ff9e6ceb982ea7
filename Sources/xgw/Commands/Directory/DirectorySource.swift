import Foundation
import GatewayMapping
import Yams

/// The SOURCE.yaml of `xgw directory sign` (federation.md):
///
/// ```yaml
/// serial: 7
/// validDays: 7                      # nextUpdate = issuedAt + validDays
/// nodes:
///   - id: renshi-node
///     url: https://renshi-gw.example:8443
///     certificate: nodes/renshi-node.cert.pem      # relative to the PKI folder, or absolute
///     nextCertificate: nodes/renshi-node.next.cert.pem   # optional: nextTlsCertificateSha256
///     hosts: [renshi, kaijiang, kaijiang-renshi, dachuan]
/// ```
///
/// Only the shape is read here (unknown keys refused, with file, line and column); the content
/// rules are the directory's own (`Directory`).
struct DirectorySource {
    struct Node {
        var id: String
        var url: String
        var certificate: String
        var nextCertificate: String?
        var hosts: [String]
        /// Where the node's entry starts in the file.
        var line: Int?
    }

    var serial: Int
    var validDays: Int
    var nodes: [Node]

    static func load(path: String) throws(ConfigurationError) -> DirectorySource {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, message: "cannot read the file")
        }
        let root: Yams.Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ConfigurationError(file: path, message: "the file is empty") }
            root = node
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: path, message: "not valid YAML (\(error))")
        }
        let reader = Reader(path: path)
        let top = try reader.mapping(root, "the directory source", keys: ["serial", "validDays", "nodes"])
        let validDays = try reader.int(top, "validDays")
        guard validDays >= 1 else { throw reader.error(top["validDays"], "validDays must be at least 1") }
        var nodes: [Node] = []
        for node in try reader.sequence(try reader.required(top, "nodes", in: root), "nodes") {
            let entry = try reader.mapping(node, "a node", keys: ["id", "url", "certificate", "nextCertificate", "hosts"])
            let hosts = try reader.sequence(try reader.required(entry, "hosts", in: node), "hosts").map { host throws(ConfigurationError) in
                try reader.string(host, "a participant id")
            }
            nodes.append(
                Node(
                    id: try reader.string(try reader.required(entry, "id", in: node), "id"),
                    url: try reader.string(try reader.required(entry, "url", in: node), "url"),
                    certificate: try reader.string(try reader.required(entry, "certificate", in: node), "certificate"),
                    nextCertificate: try entry["nextCertificate"].map { value throws(ConfigurationError) in try reader.string(value, "nextCertificate") },
                    hosts: hosts, line: node.mark?.line))
        }
        return DirectorySource(serial: try reader.int(top, "serial"), validDays: validDays, nodes: nodes)
    }

    /// Shape checks that name the file, line and column.
    private struct Reader {
        let path: String

        func error(_ node: Yams.Node?, _ message: String) -> ConfigurationError {
            ConfigurationError(file: path, line: node?.mark?.line, column: node?.mark?.column, message: message)
        }

        func mapping(_ node: Yams.Node, _ what: String, keys: Set<String>) throws(ConfigurationError) -> Yams.Node.Mapping {
            guard case .mapping(let mapping) = node else { throw error(node, "\(what) must be a mapping") }
            for (key, _) in mapping where !keys.contains(key.string ?? "") {
                throw error(key, "unknown key '\(key.string ?? "")' in \(what) (allowed: \(keys.sorted().joined(separator: ", ")))")
            }
            return mapping
        }

        func required(_ mapping: Yams.Node.Mapping, _ key: String, in node: Yams.Node) throws(ConfigurationError) -> Yams.Node {
            guard let value = mapping[key] else { throw error(node, "\(key) is missing") }
            return value
        }

        func sequence(_ node: Yams.Node, _ what: String) throws(ConfigurationError) -> [Yams.Node] {
            guard case .sequence(let sequence) = node else { throw error(node, "\(what) must be a list") }
            return Array(sequence)
        }

        func string(_ node: Yams.Node, _ what: String) throws(ConfigurationError) -> String {
            guard case .scalar(let scalar) = node, !scalar.string.isEmpty else { throw error(node, "\(what) must be a single value") }
            return scalar.string
        }

        func int(_ mapping: Yams.Node.Mapping, _ key: String) throws(ConfigurationError) -> Int {
            guard let value = mapping[key] else { throw error(nil, "\(key) is missing") }
            guard case .scalar(let scalar) = value, let number = Int(scalar.string) else {
                throw error(value, "\(key) must be a whole number")
            }
            return number
        }
    }
}

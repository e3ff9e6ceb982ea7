import Foundation
import Yams

/// A YAML file read into Yams nodes, with helpers that turn shape errors into `ConfigurationError`s
/// carrying the file name and the node's line and column.
struct YAMLFile {
    let path: String
    let root: Node

    init(path: String) throws(ConfigurationError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, message: "cannot read the file")
        }
        try self.init(path: path, text: text)
    }

    init(path: String, text: String) throws(ConfigurationError) {
        self.path = path
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: path, message: "the file is empty")
            }
            self.root = node
        } catch let error as ConfigurationError {
            throw error
        } catch let error as YamlError {
            throw Self.locate(error, path: path)
        } catch {
            throw ConfigurationError(file: path, message: "not valid YAML")
        }
    }

    private static func locate(_ error: YamlError, path: String) -> ConfigurationError {
        switch error {
        case .scanner(let context, let problem, let mark, _):
            return ConfigurationError(
                file: path, line: mark.line, column: mark.column,
                message: "YAML: \(problem)" + (context.map { " \($0.text)" } ?? ""))
        case .parser(let context, let problem, let mark, _):
            return ConfigurationError(
                file: path, line: mark.line, column: mark.column,
                message: "YAML: \(problem)" + (context.map { " \($0.text)" } ?? ""))
        case .composer(let context, let problem, let mark, _):
            return ConfigurationError(
                file: path, line: mark.line, column: mark.column,
                message: "YAML: \(problem)" + (context.map { " \($0.text)" } ?? ""))
        default:
            return ConfigurationError(file: path, message: "YAML: \(error)")
        }
    }

    func error(_ node: Node?, _ message: String) -> ConfigurationError {
        ConfigurationError(file: path, line: node?.mark?.line, column: node?.mark?.column, message: message)
    }

    func mapping(_ node: Node, _ what: String) throws(ConfigurationError) -> Node.Mapping {
        guard case .mapping(let m) = node else { throw error(node, "\(what) must be a mapping") }
        return m
    }

    func sequence(_ node: Node, _ what: String) throws(ConfigurationError) -> [Node] {
        guard case .sequence(let s) = node else { throw error(node, "\(what) must be a list") }
        return Array(s)
    }

    func string(_ node: Node, _ what: String) throws(ConfigurationError) -> String {
        guard case .scalar(let s) = node else { throw error(node, "\(what) must be a single value") }
        return s.string
    }

    func int(_ node: Node, _ what: String) throws(ConfigurationError) -> Int {
        guard case .scalar(let s) = node, let i = Int(s.string) else { throw error(node, "\(what) must be a whole number") }
        return i
    }

    func bool(_ node: Node, _ what: String) throws(ConfigurationError) -> Bool {
        guard case .scalar(let s) = node else { throw error(node, "\(what) must be true or false") }
        switch s.string {
        case "true", "yes", "True", "TRUE": return true
        case "false", "no", "False", "FALSE": return false
        default: throw error(node, "\(what) must be true or false")
        }
    }

    /// Checks that a mapping node has only the allowed keys (a typo must not be silently ignored).
    func allowKeys(_ m: Node.Mapping, _ allowed: Set<String>, in what: String) throws(ConfigurationError) {
        for (key, _) in m {
            let name = key.string ?? ""
            if !allowed.contains(name) {
                throw error(key, "unknown key '\(name)' in \(what) (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }
}
